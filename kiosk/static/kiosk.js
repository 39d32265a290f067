// Hourbook tablet kiosk. No inline scripts anywhere (CSP: script-src 'self').
//
// Screens: the idle screen (rotating QR polled by htmx, "scan my card", keypad) or one card on
// the stage (a fragment from the server, or a <template> of tablet.html when offline).
// Offline: card and keypad check-ins are kept in IndexedDB with the device time and an
// idempotency key, then sent to /kiosk/sync one at a time, oldest first, when the network is back.
(function () {
  "use strict";

  var app = document.getElementById("kiosk");
  if (!app) return;
  var stage = document.getElementById("k-stage");
  var net = document.getElementById("k-net");
  var pendingBadge = document.getElementById("k-pending");
  var refusedBadge = document.getElementById("k-refused");
  var clock = document.getElementById("k-clock");
  var numberInput = document.getElementById("k-number");
  var pinInput = document.getElementById("k-pin");
  var csrf = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  var urls = {
    identify: app.dataset.identifyUrl, act: app.dataset.actUrl,
    sync: app.dataset.syncUrl, ping: app.dataset.pingUrl, language: app.dataset.languageUrl
  };
  var READ_AFTER_MS = (parseInt(app.dataset.readAfter, 10) || 20) * 1000; // a message to read
  var CAMERA_MS = 30000;
  var KEYPAD_CLEAR_MS = 30000;
  var REFUSED_KEY = "hourbook-kiosk-refused";

  var online = navigator.onLine !== false;
  var stageTimer = null;
  var stageTimeout = 0;
  var keypadTimer = null;
  var identity = null; // how the volunteer on the stage identified: the offline fallback needs it
  var camera = null;
  var activeInput = numberInput;
  var keyboardUser = false; // the last thing that moved was a key, not a finger or a mouse

  document.addEventListener("keydown", function () { keyboardUser = true; }, true);
  document.addEventListener("pointerdown", function () { keyboardUser = false; }, true);

  // --- small helpers --------------------------------------------------------------------

  var timeFormat = new Intl.DateTimeFormat("en-GB", {
    timeZone: "Asia/Taipei", hour: "2-digit", minute: "2-digit", hour12: false
  });
  var dayFormat = new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Taipei" });

  function hhmm(date) { return timeFormat.format(date); }

  function newKey() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") return window.crypto.randomUUID();
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join("");
    return hex.slice(0, 8) + "-" + hex.slice(8, 12) + "-" + hex.slice(12, 16) + "-" + hex.slice(16, 20) + "-" + hex.slice(20);
  }

  function post(url, data) {
    return fetch(url, {
      method: "POST", body: new URLSearchParams(data), credentials: "same-origin", cache: "no-store",
      headers: { "X-CSRFToken": csrf, "HX-Request": "true", "Accept": "text/html, application/json" }
    });
  }

  // A page load gets a fresh CSRF token if the session was lost; never more than once in 5 min.
  function reloadSoon() {
    var last = parseInt(sessionStorage.getItem("hourbook-kiosk-reload") || "0", 10);
    if (Date.now() - last < 5 * 60 * 1000) return;
    sessionStorage.setItem("hourbook-kiosk-reload", String(Date.now()));
    if (app.dataset.screen === "idle") window.location.reload();
  }

  function deviceRefused(response) {
    if (response.status === 401 || response.status === 403) {
      window.location.reload(); // the server shows "not a kiosk" or "revoked"
      return true;
    }
    return false;
  }

  // --- screens --------------------------------------------------------------------------

  function clearStageTimer() {
    if (stageTimer) window.clearTimeout(stageTimer);
    stageTimer = null;
  }

  function armStageTimer() {
    clearStageTimer();
    if (stageTimeout > 0) stageTimer = window.setTimeout(showIdle, stageTimeout);
  }

  function showIdle() {
    var finished = !!stage.querySelector(".k-result"); // a check-in/out answered, saved or refused
    clearStageTimer();
    stopCamera();
    identity = null;
    stage.innerHTML = "";
    app.dataset.screen = "idle";
    clearKeypad();
    // Whoever used the keys goes on from the number box (the card they were on is gone).
    if (keyboardUser) numberInput.focus({ preventScroll: true });
    if (finished) homeLanguage(); else armLanguageTimer();
  }

  // --- language: a visitor's choice lasts for their own check-in -------------------------
  // Back to the kiosk's language when the idle screen returns after a result, or when it has
  // been left untouched for a while in a visitor's language (someone chose English and left).

  var LANGUAGE_RESET_MS = (parseInt(app.dataset.languageResetAfter, 10) || 30) * 1000;
  var languageTimer = null;
  var resettingLanguage = false;

  function homeLanguage() {
    if (app.dataset.lang === app.dataset.homeLang || resettingLanguage) return;
    if (!online || app.dataset.screen !== "idle") { armLanguageTimer(); return; } // not now: later
    resettingLanguage = true;
    post(urls.language, { lang: app.dataset.homeLang }).then(function (response) {
      if (response.ok) { window.location.reload(); return; }
      resettingLanguage = false;
      armLanguageTimer();
    }).catch(function () {
      resettingLanguage = false;
      armLanguageTimer();
    });
  }

  function armLanguageTimer() {
    if (app.dataset.lang === app.dataset.homeLang) return;
    if (languageTimer) window.clearTimeout(languageTimer);
    languageTimer = window.setTimeout(homeLanguage, LANGUAGE_RESET_MS);
  }

  armLanguageTimer();
  document.addEventListener("pointerdown", armLanguageTimer, true);
  document.addEventListener("keydown", armLanguageTimer, true);

  function showStage(node) {
    clearStageTimer();
    stage.innerHTML = "";
    stage.appendChild(node);
    app.dataset.screen = "stage";
    var card = stage.firstElementChild;
    var seconds = card && card.getAttribute("data-return-after");
    stageTimeout = seconds ? parseInt(seconds, 10) * 1000 : 0;
    armStageTimer();
    // Focus lands on the card's main control, so a keyboard or a screen reader is there too:
    // the person screen's first field (the service item, then the big button), the offline
    // choice, else Done / Back / Cancel. A finger sees no ring (:focus-visible).
    var focus = stage.querySelector(".k-act select, .k-act button[type=submit], [data-offline]")
      || stage.querySelector('[data-kiosk="idle"]');
    if (focus) focus.focus({ preventScroll: true });
    return card;
  }

  function showHTML(html) {
    var holder = document.createElement("div");
    holder.innerHTML = html;
    var fragment = document.createDocumentFragment();
    while (holder.firstChild) fragment.appendChild(holder.firstChild);
    return showStage(fragment);
  }

  function showTemplate(id) {
    return showStage(document.getElementById(id).content.cloneNode(true));
  }

  function showFragment(response) {
    if (deviceRefused(response)) return;
    if (response.headers.get("X-Kiosk-Fragment")) {
      return response.text().then(showHTML);
    }
    if (response.status === 400) reloadSoon(); // most likely the CSRF token of a lost session
    showTemplate("tpl-error");
  }

  // Any touch on the stage, or a key pressed, gives the person there the full time again.
  stage.addEventListener("pointerdown", armStageTimer);
  stage.addEventListener("change", armStageTimer);
  document.addEventListener("keydown", function () {
    if (app.dataset.screen === "stage") armStageTimer();
  });

  // --- identifying: keypad, card, then the one big button --------------------------------

  function identify(data) {
    identity = data;
    if (!online) {
      showOffline();
      return;
    }
    post(urls.identify, data).then(showFragment).catch(function () {
      setOnline(false);
      showOffline();
    });
  }

  // The highlighted box is where the digits go, from the on-screen keypad or a real keyboard:
  // moving on moves the real focus too when a keyboard is in use or a box already has it (a
  // finger on the keys alone leaves the focus where it is).
  function setActive(input) {
    activeInput = input;
    numberInput.classList.toggle("is-active", input === numberInput);
    pinInput.classList.toggle("is-active", input === pinInput);
    var focused = document.activeElement;
    if (app.dataset.screen === "idle" && document.activeElement !== input
        && (keyboardUser || focused === numberInput || focused === pinInput)) {
      input.focus({ preventScroll: true });
    }
  }

  function clearKeypad() {
    numberInput.value = "";
    pinInput.value = "";
    setActive(numberInput);
    if (keypadTimer) window.clearTimeout(keypadTimer);
    keypadTimer = null;
  }

  function keypadTouched() {
    if (keypadTimer) window.clearTimeout(keypadTimer);
    keypadTimer = window.setTimeout(clearKeypad, KEYPAD_CLEAR_MS);
  }

  function submitKeypad() {
    keypadTouched();
    if (!numberInput.value) { setActive(numberInput); return; }
    if (!pinInput.value) { setActive(pinInput); return; }
    var data = { method: "keypad", number: numberInput.value, pin: pinInput.value };
    clearKeypad();
    identify(data);
  }

  numberInput.addEventListener("focus", function () { setActive(numberInput); });
  pinInput.addEventListener("focus", function () { setActive(pinInput); });
  numberInput.addEventListener("input", keypadTouched);
  pinInput.addEventListener("input", keypadTouched);

  // A tap on a key leaves the focus in the box (the key would take it): the box typed into is
  // the one with the focus, for a real keyboard too.
  document.addEventListener("mousedown", function (event) {
    if (event.target.closest("[data-key], .k-key-ok")) event.preventDefault();
  });

  // Digits typed on a real keyboard with nothing focused on the idle screen (a keypad plugged
  // into the tablet) go to the highlighted box: focused now, it receives the key press.
  document.addEventListener("keydown", function (event) {
    if (app.dataset.screen !== "idle" || event.ctrlKey || event.metaKey || event.altKey) return;
    if (document.activeElement && document.activeElement !== document.body) return;
    if (/^[0-9]$/.test(event.key) || event.key === "Backspace") activeInput.focus({ preventScroll: true });
  });

  document.addEventListener("click", function (event) {
    var key = event.target.closest("[data-key]");
    if (key) {
      var value = key.getAttribute("data-key");
      if (value === "back") {
        activeInput.value = activeInput.value.slice(0, -1);
      } else if (activeInput.value.length < 12) {
        activeInput.value += value;
      }
      keypadTouched();
      return;
    }
    var command = event.target.closest("[data-kiosk]");
    if (command) {
      var what = command.getAttribute("data-kiosk");
      if (what === "idle") showIdle();
      if (what === "scan") startScan();
      if (what === "refused") showRefused();
      if (what === "fullscreen" && document.documentElement.requestFullscreen) {
        document.documentElement.requestFullscreen().catch(function () {});
      }
      return;
    }
    var offline = event.target.closest("[data-offline]");
    if (offline && identity) {
      offline.disabled = true;
      queueOffline(identity, offline.getAttribute("data-offline"), null);
    }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.id === "k-keypad-form") {
      event.preventDefault();
      submitKeypad();
      return;
    }
    if (form.classList.contains("k-lang") && !online) {
      event.preventDefault(); // a page load now would leave the kiosk on the browser's offline page
      return;
    }
    if (!form.classList.contains("k-act")) return;
    event.preventDefault();
    var button = form.querySelector("button[type=submit]");
    if (button.disabled) return; // one tap is enough
    button.disabled = true;
    var data = new FormData(form);
    var action = data.get("action");
    var key = data.get("key");
    if (!online && identity) {
      queueOffline(identity, action, key);
      return;
    }
    post(urls.act, data).then(showFragment).catch(function () {
      setOnline(false);
      // Same idempotency key: if the server did get the tap, the sync changes nothing.
      if (identity) queueOffline(identity, action, key); else showTemplate("tpl-error");
    });
  });

  // --- the camera: native BarcodeDetector when there is one, else jsQR on video frames ----

  var detector = null;
  var detectorTried = false;
  var canvas = null;
  var context = null;

  function nativeDetector() {
    if (!detectorTried) {
      detectorTried = true;
      if ("BarcodeDetector" in window) {
        try { detector = new window.BarcodeDetector({ formats: ["qr_code"] }); } catch (e) { detector = null; }
      }
    }
    return detector;
  }

  function decodeWithJsQR(video) {
    if (!window.jsQR || !video.videoWidth) return null;
    var scale = Math.min(1, 640 / video.videoWidth);
    var w = Math.round(video.videoWidth * scale);
    var h = Math.round(video.videoHeight * scale);
    if (!canvas) {
      canvas = document.createElement("canvas");
      context = canvas.getContext("2d", { willReadFrequently: true });
    }
    canvas.width = w;
    canvas.height = h;
    context.drawImage(video, 0, 0, w, h);
    var image = context.getImageData(0, 0, w, h);
    var code = window.jsQR(image.data, w, h, { inversionAttempts: "dontInvert" });
    return code && code.data ? code.data : null;
  }

  function decodeFrame(video) {
    var native = nativeDetector();
    if (native && video.videoWidth) {
      return native.detect(video).then(function (codes) {
        return codes.length ? codes[0].rawValue : null;
      }, function () {
        detector = null; // a detector that cannot read frames: use jsQR from now on
        return decodeWithJsQR(video);
      });
    }
    return Promise.resolve(decodeWithJsQR(video));
  }

  function stopCamera() {
    if (!camera) return;
    camera.running = false;
    if (camera.stream) camera.stream.getTracks().forEach(function (track) { track.stop(); });
    camera = null;
  }

  function scanLoop(video, session) {
    if (camera !== session || !session.running) return;
    decodeFrame(video).then(function (text) {
      if (camera !== session || !session.running) return;
      if (text && text.trim()) {
        app.dataset.decoder = detector ? "native" : "jsqr"; // which reader found it
        stopCamera();
        identify({ method: "card", card: text.trim() });
        return;
      }
      window.setTimeout(function () { scanLoop(video, session); }, 120);
    }).catch(function () {
      window.setTimeout(function () { scanLoop(video, session); }, 500);
    });
  }

  function cameraError(card) {
    stopCamera();
    var message = card.querySelector(".k-camera-error");
    var wrap = card.querySelector(".k-video-wrap");
    if (message) message.hidden = false;
    if (wrap) wrap.hidden = true;
    stageTimeout = READ_AFTER_MS;
    armStageTimer();
  }

  function startScan() {
    stopCamera();
    var card = showTemplate("tpl-camera");
    stageTimeout = CAMERA_MS;
    armStageTimer();
    var video = card.querySelector("video");
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      cameraError(card);
      return;
    }
    var session = { running: true, stream: null };
    camera = session;
    navigator.mediaDevices.getUserMedia({
      audio: false, video: { facingMode: "user", width: { ideal: 640 }, height: { ideal: 480 } }
    }).then(function (stream) {
      session.stream = stream;
      if (camera !== session) { stream.getTracks().forEach(function (t) { t.stop(); }); return; }
      video.srcObject = stream;
      var playing = video.play();
      return (playing && playing.catch ? playing.catch(function () {}) : Promise.resolve()).then(function () {
        scanLoop(video, session);
      });
    }).catch(function () {
      if (camera === session) cameraError(card);
    });
  }

  // --- offline queue (IndexedDB) ----------------------------------------------------------

  var database = null;

  function idb() {
    if (!database) {
      database = new Promise(function (resolve, reject) {
        var request = indexedDB.open("hourbook-kiosk", 1);
        request.onupgradeneeded = function () {
          request.result.createObjectStore("events", { keyPath: "seq", autoIncrement: true });
        };
        request.onsuccess = function () { resolve(request.result); };
        request.onerror = function () { database = null; reject(request.error); };
      });
    }
    return database;
  }

  function transaction(mode, work) {
    return idb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction("events", mode);
        var result;
        work(tx.objectStore("events"), function (value) { result = value; });
        tx.oncomplete = function () { resolve(result); };
        tx.onerror = tx.onabort = function () { reject(tx.error); };
      });
    });
  }

  function idbAdd(event) {
    return transaction("readwrite", function (store, done) {
      var request = store.add({ event: event });
      request.onsuccess = function () { done(request.result); };
    });
  }

  function idbFirst() {
    return transaction("readonly", function (store, done) {
      var request = store.openCursor();
      request.onsuccess = function () { done(request.result ? request.result.value : null); };
    });
  }

  function idbDelete(seq) {
    return transaction("readwrite", function (store) { store.delete(seq); });
  }

  function idbCount() {
    return transaction("readonly", function (store, done) {
      var request = store.count();
      request.onsuccess = function () { done(request.result); };
    });
  }

  function showOffline() {
    showTemplate("tpl-offline");
  }

  function queueOffline(who, action, key) {
    var now = new Date();
    var event = {
      key: key || newKey(), method: who.method, action: action, device_time: now.toISOString()
    };
    if (who.method === "card") {
      event.card = who.card;
    } else {
      event.number = who.number;
      event.pin = who.pin;
    }
    identity = null;
    idbAdd(event).then(function () {
      // Saved, not done: offline nothing can check the card or the number and PIN (the kiosk
      // holds no PIN hashes). The server checks them when the event arrives; a refusal is then
      // listed in the footer and on the staff's dashboard.
      var card = showTemplate("tpl-saved");
      card.querySelector('[data-slot="time"]').textContent = hhmm(now);
      var what = card.querySelector('[data-slot="what"]');
      what.textContent = what.getAttribute("data-" + action) || "";
      var typed = card.querySelector('[data-slot="who"]');
      typed.textContent = event.number ? "· " + typed.getAttribute("data-number").replace("{no}", event.number) : "";
      var check = card.querySelector('[data-slot="check"]');
      check.textContent = check.getAttribute(event.method === "card" ? "data-card" : "data-keypad");
      refreshCounts();
      if (online) syncNext();
    }).catch(function () {
      showTemplate("tpl-error");
    });
  }

  // Events refused when synced, today's: what was tried (time, check in or out, the number
  // typed or "a QR card") and why, for the staff. Never the PIN or the card's token.
  function refusedToday() {
    try {
      var saved = JSON.parse(localStorage.getItem(REFUSED_KEY) || "{}");
      return saved.day === dayFormat.format(new Date()) && Array.isArray(saved.items) ? saved.items : [];
    } catch (e) {
      return [];
    }
  }

  function addRefused(event, answer) {
    var items = refusedToday();
    items.push({
      time: hhmm(new Date(event.device_time)), action: event.action,
      number: event.method === "keypad" ? String(event.number || "").slice(0, 20) : null,
      reason: String(answer.reason || answer.refusal || "").slice(0, 200)
    });
    localStorage.setItem(REFUSED_KEY, JSON.stringify({ day: dayFormat.format(new Date()), items: items.slice(-50) }));
  }

  function whoTried(item, holder) {
    return item.number ? holder.getAttribute("data-number").replace("{no}", item.number) : holder.getAttribute("data-card");
  }

  function refusedBadgeText(items) {
    var last = items[items.length - 1];
    var text = refusedBadge.getAttribute(items.length > 1 ? "data-more" : "data-one");
    return text.replace("{who}", whoTried(last, refusedBadge)).replace("{time}", last.time).replace("{n}", String(items.length));
  }

  function showRefused() {
    var card = showTemplate("tpl-refused");
    var list = card.querySelector('[data-slot="items"]');
    refusedToday().slice().reverse().forEach(function (item) {
      var line = document.createElement("li");
      line.textContent = [item.time, list.getAttribute("data-" + item.action) || "", whoTried(item, list), item.reason]
        .filter(Boolean).join(" · ");
      list.appendChild(line);
    });
  }

  function badge(element, count) {
    element.hidden = !count;
    element.textContent = element.getAttribute("data-text").replace("{n}", String(count));
  }

  function refreshCounts() {
    var refused = refusedToday();
    refusedBadge.hidden = !refused.length;
    refusedBadge.textContent = refused.length ? refusedBadgeText(refused) : "";
    return idbCount().then(function (count) { badge(pendingBadge, count); }).catch(function () {});
  }

  var syncing = false;

  function syncNext() {
    if (syncing || !online) return;
    syncing = true;
    idbFirst().then(function (record) {
      if (!record) return null;
      var data = Object.assign({}, record.event, { device_sent_at: new Date().toISOString() });
      return post(urls.sync, data).then(function (response) {
        if (deviceRefused(response)) throw new Error("device refused");
        var type = response.headers.get("Content-Type") || "";
        if (type.indexOf("application/json") !== 0) {
          if (response.status === 400) reloadSoon();
          throw new Error("not answered: " + response.status);
        }
        return response.json().then(function (answer) {
          if (!answer.answered) throw new Error("not answered");
          if (answer.outcome !== "ok" && answer.outcome !== "repeated") addRefused(record.event, answer);
          return idbDelete(record.seq).then(function () { return true; });
        });
      });
    }).then(function (more) {
      syncing = false;
      refreshCounts();
      if (more) syncNext();
    }).catch(function () {
      syncing = false;
      refreshCounts();
    });
  }

  // --- network state -------------------------------------------------------------------

  function setOnline(value) {
    var was = online;
    online = value;
    app.classList.toggle("is-offline", !online);
    net.textContent = online ? net.getAttribute("data-online") : net.getAttribute("data-offline");
    if (online && !was && window.htmx) window.htmx.trigger("#k-presence", "kiosk-refresh");
    if (online) syncNext();
  }

  function ping() {
    return post(urls.ping, {}).then(function (response) {
      if (deviceRefused(response)) return;
      if (response.ok) setOnline(navigator.onLine !== false);
      else if (response.status === 400) reloadSoon();
    }).catch(function () {
      setOnline(false);
    });
  }

  window.addEventListener("offline", function () { setOnline(false); });
  window.addEventListener("online", ping);
  document.body.addEventListener("htmx:sendError", function () { setOnline(false); });
  window.setInterval(function () { if (online) ping(); }, 60000);
  window.setInterval(function () { if (!online) ping(); }, 10000);
  window.setInterval(syncNext, 20000);

  function tick() { clock.textContent = hhmm(new Date()); }
  window.setInterval(tick, 5000);
  tick();

  setOnline(online);
  refreshCounts();
  if (online) ping();
})();
