// Web chat of the Nhịp Cầu Bot API emulator: talk to the bot as a persona, like in Telegram.
// Plain browser JavaScript, no build step. The server sends bot HTML already reduced to
// Telegram's tags; sanitizeInto() enforces that again on the client side.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { userId: null, cursor: 0, session: 0, bubbles: new Map(), toastTimer: null };
const ALLOWED_TAGS = new Set(["B", "I", "U", "S", "SPAN", "A", "CODE", "PRE", "BLOCKQUOTE"]);
const SAFE_HREF = /^(https?:|tg:|mailto:)/i;

async function postJson(path, body) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  return response.json();
}

function sanitizeInto(target, html) {
  const template = document.createElement("template");
  template.innerHTML = html;
  const clean = (node) => {
    for (const child of Array.from(node.childNodes)) {
      if (child.nodeType === Node.TEXT_NODE) continue;
      if (child.nodeType !== Node.ELEMENT_NODE || !ALLOWED_TAGS.has(child.tagName)) {
        child.replaceWith(document.createTextNode(child.textContent || ""));
        continue;
      }
      for (const attr of Array.from(child.attributes)) {
        const keep =
          (attr.name === "href" && child.tagName === "A" && SAFE_HREF.test(attr.value)) ||
          (attr.name === "class" && /^(tg-spoiler|tg-emoji|expandable|language-[\w+-]+)$/.test(attr.value));
        if (!keep) child.removeAttribute(attr.name);
      }
      if (child.tagName === "A") {
        child.target = "_blank";
        child.rel = "noopener noreferrer";
      }
      clean(child);
    }
  };
  clean(template.content);
  target.replaceChildren(template.content);
}

function showToast(text, alert) {
  const toast = $("toast");
  toast.textContent = text;
  toast.className = alert ? "toast alert" : "toast";
  toast.hidden = false;
  clearTimeout(state.toastTimer);
  state.toastTimer = setTimeout(() => { toast.hidden = true; }, alert ? 6000 : 2500);
}

function bubbleFor(kind, id) {
  const key = `${kind}:${id}`;
  let bubble = state.bubbles.get(key);
  if (!bubble) {
    bubble = document.createElement("div");
    bubble.className = `bubble ${kind}`;
    bubble.dataset.messageId = String(id);
    state.bubbles.set(key, bubble);
    $("empty-hint")?.remove();
    $("chat").appendChild(bubble);
  }
  return bubble;
}

function renderBot(item) {
  const bubble = bubbleFor("bot", item.id);
  bubble.replaceChildren();
  bubble.classList.toggle("deleted", item.deleted);
  if (item.deleted) {
    bubble.textContent = "🗑 Tin nhắn đã bị xoá";
    return;
  }
  if (item.photo) {
    const img = document.createElement("img");
    img.className = "photo";
    img.src = item.photo.url;
    img.alt = "ảnh";
    bubble.appendChild(img);
  }
  if (item.document) {
    const link = document.createElement("a");
    link.className = "document";
    link.href = item.document.url;
    link.download = item.document.name;
    link.textContent = `📄 ${item.document.name} (${Math.ceil(item.document.size / 1024)} KB)`;
    bubble.appendChild(link);
    bubble.appendChild(document.createElement("br"));
  }
  const content = document.createElement("div");
  content.className = "content";
  sanitizeInto(content, item.html);
  bubble.appendChild(content);
  if (item.buttons.length) {
    const keyboard = document.createElement("div");
    keyboard.className = "inline-keyboard";
    for (const row of item.buttons) {
      const rowEl = document.createElement("div");
      rowEl.className = "inline-row";
      for (const button of row) rowEl.appendChild(inlineButton(item.id, button));
      keyboard.appendChild(rowEl);
    }
    bubble.appendChild(keyboard);
  }
  if (item.edited) {
    const meta = document.createElement("div");
    meta.className = "meta";
    meta.textContent = "đã sửa";
    bubble.appendChild(meta);
  }
}

function inlineButton(messageId, button) {
  const el = document.createElement("button");
  el.type = "button";
  el.className = button.url ? "inline-button url" : "inline-button";
  el.textContent = button.text;
  el.addEventListener("click", async () => {
    if (button.url) {
      window.open(button.url, "_blank", "noopener");
      return;
    }
    try {
      await postJson("/chat/api/click", { user_id: state.userId, message_id: messageId, data: button.data });
    } catch (error) {
      showToast(`Không bấm được nút: ${error.message}`, true);
    }
  });
  return el;
}

function renderUser(item) {
  const bubble = bubbleFor("user", item.id);
  bubble.classList.toggle("deleted", item.deleted);
  if (item.deleted) {
    bubble.textContent = "🗑 Tin nhắn đã bị xoá";
  } else {
    bubble.innerHTML = item.html; // built server-side from escaped user input only
  }
}

function renderReplyKeyboard(rows) {
  const box = $("reply-keyboard");
  box.replaceChildren();
  box.hidden = !rows || rows.length === 0;
  for (const row of rows || []) {
    const rowEl = document.createElement("div");
    rowEl.className = "reply-row";
    for (const button of row) {
      const el = document.createElement("button");
      el.type = "button";
      el.className = button.request_contact ? "reply-button contact" : "reply-button";
      el.textContent = button.text;
      el.addEventListener("click", () => {
        if (button.request_contact) {
          postJson("/chat/api/contact", { user_id: state.userId }).catch((e) => showToast(e.message, true));
        } else {
          sendText(button.text);
        }
      });
      rowEl.appendChild(el);
    }
    box.appendChild(rowEl);
  }
}

function render(item) {
  if (item.kind === "bot") renderBot(item);
  else if (item.kind === "user") renderUser(item);
  else if (item.kind === "answer" && item.text) showToast(item.text, item.show_alert);
}

async function poll(session) {
  while (session === state.session) {
    try {
      const url = `/chat/api/updates?user_id=${state.userId}&cursor=${state.cursor}&timeout=20`;
      const response = await fetch(url);
      if (session !== state.session) return;
      if (!response.ok) throw new Error(String(response.status));
      const data = await response.json();
      state.cursor = data.cursor;
      const chat = $("chat");
      const atBottom = chat.scrollHeight - chat.scrollTop - chat.clientHeight < 80;
      data.items.forEach(render);
      renderReplyKeyboard(data.reply_keyboard);
      if (atBottom || data.items.some((i) => i.kind === "user")) chat.scrollTop = chat.scrollHeight;
    } catch (error) {
      // The emulator restarted or the network blinked: try again shortly.
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

async function startSession(value) {
  const body = value === "random" ? { random: true } : { user_id: Number(value) };
  const session = await postJson("/chat/api/session", body);
  state.session += 1;
  state.userId = session.user_id;
  state.cursor = 0;
  state.bubbles.clear();
  $("chat").replaceChildren();
  renderReplyKeyboard(null);
  $("who").textContent = `Bạn là: ${session.name} · ID ${session.user_id} · ${session.phone_number}`;
  $("message-input").disabled = false;
  $("send-button").disabled = false;
  $("message-input").focus();
  poll(state.session);
}

async function sendText(text) {
  if (!state.userId || !text.trim()) return;
  try {
    await postJson("/chat/api/send", { user_id: state.userId, text });
  } catch (error) {
    showToast(`Không gửi được: ${error.message}`, true);
  }
}

async function uploadFile(file) {
  const form = new FormData();
  form.append("user_id", String(state.userId));
  form.append("file", file, file.name);
  const response = await fetch("/chat/api/upload", { method: "POST", body: form });
  if (!response.ok) showToast(`Không gửi được tệp: ${response.status}`, true);
}

async function init() {
  const response = await fetch("/chat/api/personas");
  const data = await response.json();
  $("bot-name").textContent = `${data.bot.name} (@${data.bot.username})`;
  const select = $("persona");
  for (const persona of data.personas) {
    const option = document.createElement("option");
    option.value = String(persona.user_id);
    option.textContent = `${persona.label} — ${persona.first_name} ${persona.last_name}`.trim();
    select.appendChild(option);
  }
  const random = document.createElement("option");
  random.value = "random";
  random.textContent = "Người dùng mới (ngẫu nhiên)";
  select.appendChild(random);
  // The channel picker (Telegram / Zalo) belongs to zalo.js; this pane acts only on Telegram.
  const onTelegram = () => ($("channel")?.value || "telegram") === "telegram";
  select.addEventListener("change", () => {
    if (onTelegram()) startSession(select.value);
  });
  $("channel")?.addEventListener("change", () => {
    if (onTelegram() && select.value) startSession(select.value);
  });
  $("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = $("message-input");
    const text = input.value;
    input.value = "";
    sendText(text);
  });
  $("file-input").addEventListener("change", (event) => {
    const file = event.target.files[0];
    if (file && state.userId) uploadFile(file);
    event.target.value = "";
  });
  $("chat").addEventListener("click", (event) => {
    if (event.target.classList?.contains("tg-spoiler")) event.target.classList.add("revealed");
  });
  document.body.dataset.ready = "true";
}

init();
