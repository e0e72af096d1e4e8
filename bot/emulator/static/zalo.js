// The web chat's Zalo pane: the same personas, talking to the bot as on Zalo. Zalo shows plain
// text (no buttons, no formatting), photos and stickers; the person types numbers to choose.
// Wrapped in a function so that its names do not meet chat.js's in the page's global scope.
(() => {
  "use strict";

  const byId = (id) => document.getElementById(id);
  const zalo = { userId: null, cursor: 0, session: 0, bubbles: new Map(), names: {} };
  const SUBTITLES = {
    telegram: "Trình giả lập Telegram (chạy cục bộ)",
    zalo: "Trình giả lập Zalo (chạy cục bộ)",
  };
  const controls = ["zalo-input", "zalo-send", "zalo-sticker", "zalo-unsupported"];

  function complain(text) {
    if (typeof showToast === "function") showToast(text, true); // from chat.js
  }

  async function post(path, body) {
    const response = await fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
    return response.json();
  }

  function setChannel(name) {
    const onZalo = name === "zalo";
    byId("telegram-pane").hidden = onZalo;
    byId("zalo-pane").hidden = !onZalo;
    document.body.dataset.channel = name;
    byId("subtitle").textContent = SUBTITLES[name] || SUBTITLES.telegram;
    if (onZalo) zalo.names.telegram = zalo.names.telegram || byId("bot-name").textContent;
    const botName = zalo.names[name];
    if (botName) byId("bot-name").textContent = botName;
    if (!onZalo) return;
    const persona = byId("persona").value;
    if (persona) startSession(persona).catch((error) => complain(error.message));
    else byId("who").textContent = "";
  }

  function bubbleFor(kind, id) {
    const key = `${kind}:${id}`;
    let bubble = zalo.bubbles.get(key);
    if (!bubble) {
      bubble = document.createElement("div");
      bubble.className = `zalo-bubble ${kind}`;
      bubble.dataset.index = String(id);
      zalo.bubbles.set(key, bubble);
      byId("zalo-empty-hint")?.remove();
      byId("zalo-chat").appendChild(bubble);
    }
    return bubble;
  }

  function render(item) {
    const bubble = bubbleFor(item.kind, item.id);
    bubble.replaceChildren();
    if (item.photo) {
      const img = document.createElement("img");
      img.className = "photo";
      img.src = item.photo.url;
      img.alt = "ảnh";
      bubble.appendChild(img);
    }
    const notes = [];
    if (item.sticker !== undefined) notes.push("😊 Sticker");
    if (item.voice) notes.push("🎤 Tin nhắn thoại");
    if (item.unsupported) notes.push("🛡 Nội dung được Zalo ẩn (người dùng được bảo vệ)");
    for (const note of notes) {
      const el = document.createElement("div");
      el.className = "note";
      el.textContent = note;
      bubble.appendChild(el);
    }
    if (item.text) {
      const text = document.createElement("div");
      text.className = "content";
      text.textContent = item.text; // plain text, as Zalo shows it
      bubble.appendChild(text);
    }
  }

  async function poll(session) {
    while (session === zalo.session) {
      try {
        const url = `/chat/api/zalo/updates?user_id=${encodeURIComponent(zalo.userId)}` +
          `&cursor=${zalo.cursor}&timeout=20`;
        const response = await fetch(url);
        if (session !== zalo.session) return;
        if (!response.ok) throw new Error(String(response.status));
        const data = await response.json();
        zalo.cursor = data.cursor;
        const chat = byId("zalo-chat");
        const atBottom = chat.scrollHeight - chat.scrollTop - chat.clientHeight < 80;
        data.items.forEach(render);
        if (atBottom || data.items.some((i) => i.kind === "user")) chat.scrollTop = chat.scrollHeight;
      } catch (error) {
        // The emulator restarted or the network blinked: try again shortly.
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
  }

  async function startSession(value) {
    const body = value === "random" ? { random: true } : { user_id: Number(value) };
    const session = await post("/chat/api/zalo/session", body);
    zalo.session += 1;
    zalo.userId = session.user_id;
    zalo.cursor = 0;
    zalo.bubbles.clear();
    byId("zalo-chat").replaceChildren();
    zalo.names.zalo = session.bot;
    byId("bot-name").textContent = session.bot;
    byId("who").textContent = `Bạn là: ${session.name} · Zalo ID ${session.user_id}`;
    for (const id of controls) byId(id).disabled = false;
    byId("zalo-input").focus();
    poll(zalo.session);
  }

  async function act(path, body) {
    if (!zalo.userId) return;
    try {
      await post(path, { user_id: zalo.userId, ...body });
    } catch (error) {
      complain(`Không gửi được: ${error.message}`);
    }
  }

  async function uploadImage(file) {
    const form = new FormData();
    form.append("user_id", zalo.userId);
    form.append("file", file, file.name);
    const response = await fetch("/chat/api/zalo/upload", { method: "POST", body: form });
    if (!response.ok) complain(`Không gửi được ảnh: ${response.status}`);
  }

  byId("channel").addEventListener("change", (event) => setChannel(event.target.value));
  byId("persona").addEventListener("change", (event) => {
    if (byId("channel").value === "zalo") {
      startSession(event.target.value).catch((error) => complain(error.message));
    }
  });
  byId("zalo-composer").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = byId("zalo-input");
    const text = input.value;
    input.value = "";
    if (text.trim()) act("/chat/api/zalo/send", { text });
  });
  byId("zalo-file-input").addEventListener("change", (event) => {
    const file = event.target.files[0];
    if (file && zalo.userId) uploadImage(file);
    event.target.value = "";
  });
  byId("zalo-sticker").addEventListener("click", () => act("/chat/api/zalo/sticker", {}));
  byId("zalo-unsupported").addEventListener("click", () => act("/chat/api/zalo/unsupported", {}));
  // A reload may keep the picker on Zalo: show the pane that is picked.
  if (byId("channel").value !== "telegram") setChannel(byId("channel").value);
})();
