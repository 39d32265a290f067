// Hourbook: small progressive enhancements. No inline scripts anywhere (CSP).
(function () {
  "use strict";
  if ("serviceWorker" in navigator) {
    window.addEventListener("load", function () {
      navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(function () {});
    });
  }
  // Signing out: drop every cache the service worker keeps, but the offline page's (sw.js:
  // public, nobody's data).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var target = form && form.getAttribute && form.getAttribute("action");  // not form.action: a field may be named "action"
    if (target && target.indexOf("/sign-out") !== -1 && window.caches) {
      caches.keys().then(function (keys) {
        keys.forEach(function (k) { if (k.indexOf("hourbook-offline-") !== 0) caches.delete(k); });
      });
    }
  });
  // Tables that scroll sideways (on a phone): reachable and scrollable by keyboard (Tab, arrows),
  // and named for a screen reader (a region called after the table's caption or heading). Only
  // those that do scroll, at this width: a table that fits is no stop of the Tab key.
  function scrollerName(wrap) {
    var caption = wrap.querySelector("caption");
    if (caption && caption.textContent.trim()) return {label: caption.textContent.trim()};
    var section = wrap.closest("[aria-labelledby]");
    if (section) return {labelledby: section.getAttribute("aria-labelledby")};
    // else the nearest heading before it, in the page's order
    for (var node = wrap; node && node !== document.body; node = node.parentElement) {
      for (var prev = node.previousElementSibling; prev; prev = prev.previousElementSibling) {
        var headings = /^H[1-6]$/.test(prev.tagName) ? [prev] : prev.querySelectorAll("h1, h2, h3, h4, h5, h6");
        if (headings.length) return {label: headings[headings.length - 1].textContent.trim()};
      }
    }
    return null;
  }
  function focusableScrollers(root) {
    var wraps = (root && root.querySelectorAll) ? root.querySelectorAll(".table-wrap") : [];
    Array.prototype.forEach.call(wraps, function (wrap) {
      // Always reachable by keyboard, as before: whether it scrolls can change after this runs
      // (fonts, a late layout), and a scroll region without a tab stop fails axe.
      if (!wrap.hasAttribute("tabindex")) wrap.setAttribute("tabindex", "0");
      // (either way: overflow-x: auto makes it scroll up and down too, by a few pixels sometimes)
      var scrolls = wrap.scrollWidth > wrap.clientWidth || wrap.scrollHeight > wrap.clientHeight;
      if (scrolls && !wrap.hasAttribute("data-scroller")) {
        var name = scrollerName(wrap);
        wrap.setAttribute("data-scroller", "");
        wrap.setAttribute("tabindex", "0");
        if (name) {
          wrap.setAttribute("role", "region");
          if (name.label) wrap.setAttribute("aria-label", name.label);
          else wrap.setAttribute("aria-labelledby", name.labelledby);
        }
      } else if (!scrolls && wrap.hasAttribute("data-scroller")) {
        ["data-scroller", "role", "aria-label", "aria-labelledby"].forEach(function (a) { wrap.removeAttribute(a); });
      }
    });
  }
  focusableScrollers(document);
  // again once the fonts are in (a table may grow wider then) and when the window changes size
  window.addEventListener("load", function () { focusableScrollers(document); });
  window.addEventListener("resize", function () { focusableScrollers(document); });
  // The menu's "More" (a <details>, which opens without this): closed again by a tap outside
  // it or by Escape (the focus back on its summary), like any menu.
  var more = document.querySelector(".mainnav .more");
  if (more) {
    document.addEventListener("click", function (event) {
      if (more.open && !more.contains(event.target)) more.open = false;
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && more.open) {
        more.open = false;
        more.querySelector("summary").focus();
      }
    });
  }
  document.addEventListener("htmx:load", function (event) { focusableScrollers(event.target.parentNode || document); });
  // A swapped-in row must not drop the keyboard's place: when the focused control was replaced
  // (e.g. a dashboard row after Approve), focus the first control of the new content instead.
  // Only then: a part that loads itself (hx-trigger="load") held no focus, and must not take it.
  var heldFocus = [];  // swap targets that held the focus when their new content arrived
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail && event.detail.target;
    var active = document.activeElement;
    if (target && active && active !== document.body && target.contains(active)) heldFocus.push(target);
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    var old = event.detail && event.detail.target;
    var at = heldFocus.indexOf(old);
    if (!old || at < 0) return;
    heldFocus.splice(at, 1);
    var active = document.activeElement;
    if (active && active !== document.body && document.documentElement.contains(active)) return;
    var fresh = old && old.id ? document.getElementById(old.id) : null;
    if (!fresh) return;
    // [autofocus] first (e.g. the confirmation after a check-in), wherever it stands; else the
    // first control.
    var next = fresh.querySelector("[autofocus]") ||
      fresh.querySelector("button:not([disabled]), a[href], input:not([type=hidden]), select, textarea");
    if (!next) { fresh.setAttribute("tabindex", "-1"); next = fresh; }
    next.focus();
  });
  // An htmx request that failed where the page swaps nothing in (403, 404, 500..., no network):
  // say so, instead of leaving the person believing it worked. 400 and 409 answers are swapped
  // in (base.html's htmx-config) and say what went wrong themselves. Background polls that fail
  // stay quiet: nobody asked for them, and the next poll tries again.
  // No network (the request never got an answer): reloading would only show the browser's
  // offline page, so the words say to try again once online, without the reload button. A part
  // of the page may say it in its own words: a [data-send-failed] inside the request's target
  // (e.g. the check-in panel: "nothing was recorded; the reception tablet works too").
  function failed(event) {
    var box = document.getElementById("hx-failed");
    var config = event.detail && event.detail.requestConfig;
    if (!box || !config) return;
    var verb = (config.verb || "get").toLowerCase();
    var asked = config.triggeringEvent && config.triggeringEvent.isTrusted;
    if (verb === "get" && !asked) return;
    var offline = event.type === "htmx:sendError";
    var target = event.detail.target;
    var own = offline && target && target.querySelector ? target.querySelector("[data-send-failed]") : null;
    if (own) {
      own.hidden = false;
      own.setAttribute("role", "alert");
      if (own.scrollIntoView) own.scrollIntoView({block: "nearest"});
      return;
    }
    box.setAttribute("role", "alert");
    box.hidden = false;
    box.querySelector("[data-hx-failed=reload]").hidden = offline;
    box.querySelector(".hx-failed-text").textContent =
      box.getAttribute(offline ? "data-offline-text" : "data-text");
  }
  document.addEventListener("htmx:responseError", failed);
  document.addEventListener("htmx:sendError", failed);
  // A message flashed when the page was loaded ("Training event added. Tick who attended.") is
  // about what was done before it: once the person does something else in place (an htmx
  // request that changes data: not a GET), it goes, so only the new answer speaks.
  document.addEventListener("htmx:beforeRequest", function (event) {
    var config = event.detail && event.detail.requestConfig;
    if (!config || (config.verb || "get").toLowerCase() === "get") return;
    var flashes = document.querySelectorAll("main > .flashes");
    for (var i = 0; i < flashes.length; i++) flashes[i].remove();
  });
  // A part that refreshes itself ("every 10s") and is marked [data-poll-spares-forms] skips its
  // poll while a form is open inside it ("On site now": "Check out…" opens the form in the
  // person's row): the refresh would wipe what is being typed. Its events still refresh it.
  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail && event.detail.elt;
    var config = event.detail && event.detail.requestConfig;
    if (!elt || !config || config.triggeringEvent || !elt.hasAttribute("data-poll-spares-forms")) return;
    if (elt.querySelector("form")) event.preventDefault();
  });
  document.addEventListener("htmx:beforeRequest", function () {
    var box = document.getElementById("hx-failed");
    if (box && !box.hidden) {
      box.hidden = true;
      box.removeAttribute("role");
      box.querySelector(".hx-failed-text").textContent = "";
    }
    var notes = document.querySelectorAll("[data-send-failed]:not([hidden])");
    for (var i = 0; i < notes.length; i++) {
      notes[i].hidden = true;
      notes[i].removeAttribute("role");
    }
  });
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-hx-failed=reload]");
    if (button) window.location.reload();
  });
  // A "Print" button ([data-print], e.g. the welcome sheet): hidden in the page as sent (without
  // this script it would do nothing), shown here, and it opens the browser's print dialog. What
  // is printed is the print rules' business (app.css: @media print).
  function printButtons(root) {
    var buttons = (root && root.querySelectorAll) ? root.querySelectorAll("[data-print]") : [];
    Array.prototype.forEach.call(buttons, function (button) { button.hidden = false; });
  }
  printButtons(document);
  document.addEventListener("htmx:load", function (event) { printButtons(event.target.parentNode || document); });
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-print]");
    if (button) window.print();
  });
  // "Cancel" on a small confirmation panel: just remove the panel, the focus back on the button
  // that opened it when the panel names it (data-return-focus).
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-dismiss]");
    if (!button) return;
    var panel = button.closest(".panel");
    if (!panel) return;
    var back = panel.getAttribute("data-return-focus");
    panel.remove();
    var opener = back ? document.querySelector(back) : null;
    if (opener) opener.focus();
  });
  // What an action did, said to a screen reader where the focus does not say it (the dashboard:
  // a row approved): the answer's HX-Trigger-After-Settle {"announce": "..."} into the page's
  // live region [data-announce]. Emptied first, so the same words twice are said twice.
  document.addEventListener("announce", function (event) {
    var box = document.querySelector("[data-announce]");
    var text = event.detail && event.detail.value;
    if (!box || !text) return;
    box.textContent = "";
    setTimeout(function () { box.textContent = text; }, 100);
  });
  // A button that opens a form in place ([aria-expanded="false"], "Check out…"): expanded once
  // the form is in.
  document.addEventListener("htmx:afterSwap", function (event) {
    var elt = event.detail && event.detail.elt;
    if (elt && elt.getAttribute && elt.getAttribute("aria-expanded") === "false" &&
        document.documentElement.contains(elt)) elt.setAttribute("aria-expanded", "true");
  });
})();
