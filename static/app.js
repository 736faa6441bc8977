// contacts-admin page behaviour: CSRF header for htmx, the contacts selection model
// (rows, page, select-all-in-account with exclusions), the bulk bar, the typed-DELETE
// dialogs and the Restore page selection. No inline scripts: the CSP forbids them.
(function () {
  "use strict";

  function csrfToken() {
    var m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.getAttribute("content") : "";
  }

  document.addEventListener("htmx:configRequest", function (e) {
    e.detail.headers["X-CSRF-Token"] = csrfToken();
  });
  // Refusals (4xx) carry a message fragment aimed at #alerts: show it.
  document.addEventListener("htmx:beforeSwap", function (e) {
    var s = e.detail.xhr.status;
    if (s >= 400 && s < 500) {
      e.detail.shouldSwap = true;
      e.detail.isError = false;
      // inside an open dialog the message belongs in the dialog, not behind it
      var dialog = e.detail.requestConfig && e.detail.requestConfig.elt && e.detail.requestConfig.elt.closest("dialog[open]");
      var box = dialog && dialog.querySelector("#dialog-alerts");
      if (box) e.detail.target = box;
      // a form that shows its errors beside its fields keeps what was typed
      var form = e.detail.requestConfig && e.detail.requestConfig.elt && e.detail.requestConfig.elt.closest("form[data-inline-errors]");
      var slot = form && form.querySelector(".field-error");
      if (slot) {
        e.detail.target = slot;
        form.querySelectorAll("input:not([type=hidden])").forEach(function (i) { i.setAttribute("aria-invalid", "true"); });
      }
    }
  });

  // ---- typed-DELETE confirmation: the button unlocks on exactly "DELETE", and, when
  // the form asks for it (deleting every contact), the number of contacts typed ----
  function countMatches(input) {
    var digits = input.value.replace(/[,.\s'_]/g, "");
    return /^[0-9]+$/.test(digits) && digits.replace(/^0+(?=.)/, "") === input.dataset.expectCount;
  }
  function wireConfirm(input, button) {
    if (!input || !button) return;
    var counts = input.form ? Array.prototype.slice.call(input.form.querySelectorAll("[data-expect-count]")) : [];
    var sync = function () { button.disabled = input.value !== "DELETE" || !counts.every(countMatches); };
    [input].concat(counts).forEach(function (i) { i.addEventListener("input", sync); });
    sync();
  }

  // ---- contacts list selection ----
  var sel = {
    mode: "ids",          // "ids": the ticked rows; "all": every match minus excluded
    ids: new Map(),       // id -> name
    excluded: new Set(),
    total: 0, asOf: "", q: "", tag: "", pageCount: 0
  };

  function meta() { return document.getElementById("list-meta"); }
  function rowChecks() { return Array.prototype.slice.call(document.querySelectorAll(".row-check")); }

  function readMeta() {
    var m = meta();
    if (!m) return;
    var q = m.dataset.q || "", tag = m.dataset.tag || "";
    if (q !== sel.q || tag !== sel.tag) {
      // a new search is a new selection
      sel.mode = "ids"; sel.ids.clear(); sel.excluded.clear();
    }
    sel.q = q; sel.tag = tag;
    // an empty data-total: a search's page did not count its matches; the exact
    // figure arrives in #list-total (GET /contacts/count) a moment later
    var text = m.dataset.totalText;
    sel.total = m.dataset.total === "" ? NaN : parseInt(m.dataset.total || "0", 10);
    var exact = document.getElementById("list-total");
    if (exact) {
      sel.total = parseInt(exact.dataset.total || "0", 10);
      text = exact.dataset.totalText;
      var shown = document.getElementById("shown-count");
      if (shown) shown.textContent = fmt(parseInt(shown.dataset.shown || "0", 10)) + " shown of " + exact.dataset.totalCount;
    }
    if (sel.mode !== "all") sel.asOf = m.dataset.asOf || "";
    sel.pageCount = parseInt(m.dataset.pageCount || "0", 10);
    var total = document.getElementById("contact-total");
    if (total && text) total.textContent = text;
  }

  function totalKnown() { return !isNaN(sel.total); }

  function count() {
    if (sel.mode !== "all") return sel.ids.size;
    return totalKnown() ? Math.max(0, sel.total - sel.excluded.size) : NaN;
  }

  function fmt(n) { return n.toLocaleString("en-US"); }

  function render() {
    var checks = rowChecks();
    checks.forEach(function (c) {
      var id = c.value;
      c.checked = sel.mode === "all" ? !sel.excluded.has(id) : sel.ids.has(id);
      var tr = c.closest("tr");
      if (tr) tr.classList.toggle("selected", c.checked);
    });
    var head = document.getElementById("select-page");
    var ticked = checks.filter(function (c) { return c.checked; }).length;
    if (head) {
      head.checked = checks.length > 0 && ticked === checks.length;
      head.indeterminate = ticked > 0 && ticked < checks.length;
    }
    var n = count();
    var bar = document.getElementById("bulk-bar");
    if (bar) {
      bar.hidden = n === 0;
      document.getElementById("bulk-count").textContent = isNaN(n) ? "All matching selected" : fmt(n) + " selected";
    }
    var banner = document.getElementById("selection-banner");
    if (banner) {
      var text = document.getElementById("banner-text");
      var all = document.getElementById("banner-select-all");
      var where = (sel.q || sel.tag) ? " matching this search" : " in this account";
      if (sel.mode === "all") {
        banner.hidden = false;
        if (!totalKnown()) {
          text.textContent = "All contacts" + where + " are selected" + (sel.excluded.size ? " (" + fmt(sel.excluded.size) + " unticked)." : ".");
        } else {
          text.textContent = n === sel.total
            ? "All " + fmt(n) + " contacts" + where + " are selected."
            : fmt(n) + " of " + fmt(sel.total) + " contacts" + where + " are selected (" + fmt(sel.excluded.size) + " unticked).";
        }
        all.hidden = true;
      } else if (checks.length > 0 && ticked === checks.length && !(sel.total <= checks.length)) {
        banner.hidden = false;
        text.textContent = "All " + fmt(checks.length) + " contacts on this page are selected.";
        all.hidden = false;
        all.textContent = totalKnown() ? "Select all " + fmt(sel.total) + " contacts" + where : "Select all contacts" + where;
      } else {
        banner.hidden = true;
      }
    }
  }

  function selectionParams() {
    var p = new URLSearchParams();
    if (sel.mode === "all") {
      p.append("select_all", "true");
      p.append("as_of", sel.asOf);
      if (sel.q) p.append("q", sel.q);
      if (sel.tag) p.append("tag", sel.tag);
      sel.excluded.forEach(function (id) { p.append("exclude", id); });
    } else {
      sel.ids.forEach(function (_, id) { p.append("ids", id); });
    }
    return p;
  }

  function clearSelection() {
    sel.mode = "ids"; sel.ids.clear(); sel.excluded.clear();
    render();
  }

  document.addEventListener("change", function (e) {
    var t = e.target;
    if (t.classList && t.classList.contains("row-check")) {
      if (sel.mode === "all") {
        if (t.checked) sel.excluded.delete(t.value); else sel.excluded.add(t.value);
      } else if (t.checked) {
        sel.ids.set(t.value, t.dataset.name || "");
      } else {
        sel.ids.delete(t.value);
      }
      render();
    } else if (t.id === "select-page") {
      rowChecks().forEach(function (c) {
        if (sel.mode === "all") {
          if (t.checked) sel.excluded.delete(c.value); else sel.excluded.add(c.value);
        } else if (t.checked) {
          sel.ids.set(c.value, c.dataset.name || "");
        } else {
          sel.ids.delete(c.value);
        }
      });
      render();
    }
  });

  document.addEventListener("click", function (e) {
    var t = e.target.closest ? e.target.closest("button, a") : null;
    if (!t) return;
    if (t.id === "banner-select-all") {
      sel.mode = "all"; sel.excluded.clear(); sel.ids.clear();
      render();
    } else if (t.id === "banner-clear" || t.id === "bulk-clear") {
      clearSelection();
    } else if (t.id === "bulk-export") {
      window.location.href = "/contacts/export.csv?" + selectionParams().toString();
    } else if (t.id === "bulk-export-record") {
      window.location.href = "/contacts/export.zip?" + selectionParams().toString();
    } else if (t.id === "bulk-delete") {
      openDelete(selectionParams(), "list");
    } else if (t.id === "contact-delete") {
      var p = new URLSearchParams();
      p.append("ids", t.dataset.id);
      openDelete(p, "contact");
    } else if (t.id === "delete-cancel") {
      var d = document.getElementById("delete-dialog");
      if (d) d.close();
    } else if (t.id === "erase-cancel") {
      document.getElementById("erase-dialog").close();
    } else if (t.id === "erase-open") {
      openErase();
    }
  });

  // The delete dialog: its body comes from the server with the counts (U4).
  var lastOpener = null;
  function openDelete(params, origin) {
    var dialog = document.getElementById("delete-dialog");
    if (!dialog) return;
    lastOpener = document.activeElement;
    params.append("origin", origin);
    htmx.ajax("GET", "/contacts/delete-preview?" + params.toString(), { target: "#delete-dialog-body", swap: "innerHTML" })
      .then(function () {
        var form = document.getElementById("delete-form");
        if (!form) { return; }          // a refusal went to #alerts
        wireConfirm(document.getElementById("delete-confirm"), document.getElementById("delete-submit"));
        dialog.showModal();
        (document.getElementById("delete-count") || document.getElementById("delete-confirm")).focus();
      });
  }

  document.addEventListener("close", function (e) {
    if (e.target.id === "delete-dialog") {
      document.getElementById("delete-dialog-body").innerHTML = "";
      if (lastOpener && document.body.contains(lastOpener)) lastOpener.focus();
    }
  }, true);

  // After a successful delete or tag: close the dialog, clear the selection; the list
  // refreshes itself on the "contacts-changed" event.
  document.addEventListener("contacts-changed", function () {
    var d = document.getElementById("delete-dialog");
    if (d && d.open) d.close();
    clearSelection();
    var a = document.getElementById("alerts");
    if (a) a.focus();
  });

  // Bulk "Add tag": the selection goes as repeated fields, never as a list of every id
  // when "select all" is on (U2).
  // A tag that starts workflows that delete comes back 409 with a typed-DELETE form
  // for an admin: it opens in the dialog and sends the same request with the
  // confirmation.
  function sendBulkTag(confirm) {
    var busy = confirm ? document.getElementById("tag-confirm-submit") : document.querySelector("#bulk-tag-form button[type=submit]");
    setBusy(busy, true);
    var p = selectionParams();
    p.append("tag_name", document.getElementById("bulk-tag-name").value);
    if (confirm) p.append("confirm", confirm);
    var count = document.getElementById("tag-confirm-count");
    if (confirm && count) p.append("confirm_count", count.value);
    var dialog = document.getElementById("delete-dialog");
    return fetch("/contacts/tags", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded", "X-CSRF-Token": csrfToken(), "HX-Request": "true" },
      body: p.toString()
    }).then(function (r) {
      setBusy(busy, false);
      return r.text().then(function (html) {
        if (r.status === 409 && dialog && html.indexOf("tag-confirm-form") >= 0) {
          lastOpener = document.activeElement;
          document.getElementById("delete-dialog-body").innerHTML = html;
          var input = document.getElementById("tag-confirm");
          wireConfirm(input, document.getElementById("tag-confirm-submit"));
          if (!dialog.open) dialog.showModal();
          (document.getElementById("tag-confirm-count") || input).focus();
          return;
        }
        if (dialog && dialog.open) dialog.close();
        document.getElementById("alerts").innerHTML = html;
        if (r.ok) {
          document.getElementById("bulk-tag-name").value = "";
          document.body.dispatchEvent(new CustomEvent("contacts-changed", { bubbles: true }));
        }
      });
    });
  }
  document.addEventListener("submit", function (e) {
    if (e.target.id === "bulk-tag-form") {
      e.preventDefault();
      sendBulkTag(null);
    } else if (e.target.id === "tag-confirm-form" && !e.target.getAttribute("action")) {
      e.preventDefault();
      var b = document.getElementById("tag-confirm-submit");
      if (b) b.disabled = true;
      sendBulkTag(document.getElementById("tag-confirm").value);
    }
  });

  document.addEventListener("htmx:afterSwap", function (e) {
    if (e.target.id === "results" || e.target.id === "list-total-slot") { readMeta(); render(); }
  });

  // ---- Restore page: the same selection model as the list (U2): ticked rows, or
  // every deleted contact matching the filters as of when the page was shown, minus
  // the rows unticked; the server gets the filters, as_of and the exclusions ----
  var rsel = { mode: "ids", ids: new Set(), excluded: new Set(), total: 0 };
  function restoreChecks() { return Array.prototype.slice.call(document.querySelectorAll(".restore-check")); }
  function restoreCount() { return rsel.mode === "all" ? Math.max(0, rsel.total - rsel.excluded.size) : rsel.ids.size; }
  function contactsWord(n) { return fmt(n) + (n === 1 ? " contact" : " contacts"); }
  function renderRestore() {
    var m = document.getElementById("restore-meta");
    if (!m) return;
    rsel.total = parseInt(m.dataset.total || "0", 10);
    var checks = restoreChecks();
    checks.forEach(function (c) {
      c.checked = rsel.mode === "all" ? !rsel.excluded.has(c.value) : rsel.ids.has(c.value);
      var tr = c.closest("tr");
      if (tr) tr.classList.toggle("selected", c.checked);
    });
    var ticked = checks.filter(function (c) { return c.checked; }).length;
    var n = restoreCount();
    document.getElementById("restore-count").textContent = fmt(n) + " selected";
    var s = document.getElementById("restore-submit");
    s.disabled = n === 0;
    s.textContent = n === 0 ? "Restore selected" : "Restore " + contactsWord(n);
    document.getElementById("erase-open").disabled = n === 0;
    var head = document.getElementById("restore-select-page");
    if (head) {
      head.checked = checks.length > 0 && ticked === checks.length;
      head.indeterminate = ticked > 0 && ticked < checks.length;
    }
    var banner = document.getElementById("restore-banner");
    var text = document.getElementById("restore-banner-text");
    var all = document.getElementById("restore-banner-all");
    if (rsel.mode === "all") {
      banner.hidden = false;
      all.hidden = true;
      text.textContent = rsel.excluded.size === 0
        ? "All " + contactsWord(rsel.total) + " matching are selected."
        : fmt(n) + " of " + contactsWord(rsel.total) + " matching are selected (" + fmt(rsel.excluded.size) + " unticked).";
    } else if (checks.length > 0 && ticked === checks.length && rsel.total > checks.length) {
      banner.hidden = false;
      text.textContent = "All " + contactsWord(checks.length) + " on this page are selected.";
      all.hidden = false;
      all.textContent = "Select all " + contactsWord(rsel.total) + " matching";
    } else {
      banner.hidden = true;
    }
    document.getElementById("restore-select-all").value = rsel.mode === "all" ? "true" : "";
  }
  // The selection as form fields (for Restore selected and for Erase).
  function restoreParams() {
    var p = [];
    if (rsel.mode === "all") {
      p.push(["select_all", "true"]);
      var form = document.getElementById("restore-form");
      ["as_of", "q", "within", "by", "workflow", "batch"].forEach(function (k) {
        var i = form.querySelector("input[type=hidden][name='" + k + "']");
        if (i && i.value) p.push([k, i.value]);
      });
      rsel.excluded.forEach(function (id) { p.push(["exclude", id]); });
    } else {
      rsel.ids.forEach(function (id) { p.push(["ids", id]); });
    }
    return p;
  }
  function fillHidden(holder, params) {
    holder.innerHTML = "";
    params.forEach(function (kv) {
      var i = document.createElement("input");
      i.type = "hidden"; i.name = kv[0]; i.value = kv[1];
      holder.appendChild(i);
    });
  }
  document.addEventListener("change", function (e) {
    var t = e.target;
    if (t.classList && t.classList.contains("restore-check")) {
      if (rsel.mode === "all") {
        if (t.checked) rsel.excluded.delete(t.value); else rsel.excluded.add(t.value);
      } else if (t.checked) rsel.ids.add(t.value); else rsel.ids.delete(t.value);
      renderRestore();
    } else if (t.id === "restore-select-page") {
      restoreChecks().forEach(function (c) {
        if (rsel.mode === "all") {
          if (t.checked) rsel.excluded.delete(c.value); else rsel.excluded.add(c.value);
        } else if (t.checked) rsel.ids.add(c.value); else rsel.ids.delete(c.value);
      });
      renderRestore();
    }
  });
  document.addEventListener("click", function (e) {
    var t = e.target.closest ? e.target.closest("button") : null;
    if (!t) return;
    if (t.id === "restore-banner-all") {
      rsel.mode = "all"; rsel.ids.clear(); rsel.excluded.clear();
      renderRestore();
    } else if (t.id === "restore-banner-clear") {
      rsel.mode = "ids"; rsel.ids.clear(); rsel.excluded.clear();
      renderRestore();
    }
  });
  document.addEventListener("submit", function (e) {
    if (e.target.id !== "restore-form" || e.submitter && e.submitter.getAttribute("form") === "row-restore") return;
    // the row checkboxes send themselves as ids; a select-all sends the exclusions instead
    var all = rsel.mode === "all";
    restoreChecks().forEach(function (c) { c.name = all ? "" : "ids"; });
    fillHidden(document.getElementById("restore-excluded"), all ? restoreParams().filter(function (kv) { return kv[0] === "exclude"; }) : []);
    var b = document.getElementById("restore-submit");
    if (b) { b.disabled = true; b.textContent = "Restoring…"; }
  });
  function openErase() {
    var n = restoreCount();
    fillHidden(document.getElementById("erase-ids"), restoreParams());
    document.getElementById("erase-count").textContent = contactsWord(n);
    var input = document.getElementById("erase-confirm");
    input.value = "";
    wireConfirm(input, document.getElementById("erase-submit"));
    document.getElementById("erase-dialog").showModal();
    input.focus();
  }

  // ---- dialogs filled by htmx (workflow test): open, wire the typed DELETE, focus ----
  document.addEventListener("htmx:afterSwap", function (e) {
    var dialog = e.target.closest ? e.target.closest("dialog") : null;
    if (!dialog || !e.target.querySelector("form[data-dialog]")) return;
    e.target.querySelectorAll("[data-confirm-for]").forEach(function (input) {
      wireConfirm(input, document.getElementById(input.dataset.confirmFor));
    });
    if (!dialog.open) dialog.showModal();
    var first = e.target.querySelector("[data-confirm-for]") || e.target.querySelector("button[type=submit]");
    if (first) first.focus();
  });
  document.addEventListener("click", function (e) {
    var b = e.target.closest ? e.target.closest("[data-close-dialog]") : null;
    if (b) { var d = b.closest("dialog"); if (d) d.close(); }
    var o = e.target.closest ? e.target.closest("[data-open-dialog]") : null;
    if (o) { var dlg = document.getElementById(o.dataset.openDialog); if (dlg) { dlg.showModal(); var btn = dlg.querySelector("button[type=submit]"); if (btn) btn.focus(); } }
  });

  // ---- busy buttons: a form that starts work cannot be sent twice ----
  // Forms posted by the browser (the page reloads with the answer): the button that
  // sent it turns busy once the browser has read the form's fields.
  function setBusy(button, busy) {
    if (!button) return;
    button.disabled = busy;
    button.classList.toggle("is-busy", busy);
    if (busy) button.setAttribute("aria-busy", "true"); else button.removeAttribute("aria-busy");
  }
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (e.defaultPrevented || (form.getAttribute("method") || "").toLowerCase() !== "post" || form.hasAttribute("hx-post")) return;
    var button = e.submitter || form.querySelector("button[type=submit]");
    setTimeout(function () { setBusy(button, true); }, 0);
  });
  // back to a page kept in the browser's cache: its buttons are usable again
  window.addEventListener("pageshow", function (e) {
    if (e.persisted) document.querySelectorAll("button.is-busy").forEach(function (b) { setBusy(b, false); });
  });

  // ---- narrow windows: the sidebar is a drawer behind the Menu button ----
  function setNav(open, focusBack) {
    var shell = document.querySelector(".shell"), button = document.getElementById("menu-button");
    if (!shell || !button) return;
    shell.classList.toggle("nav-open", open);
    button.setAttribute("aria-expanded", open ? "true" : "false");
    if (open) {
      var current = document.querySelector("#sidebar a[aria-current]") || document.querySelector("#sidebar a");
      if (current) current.focus();
    } else if (focusBack) {
      button.focus();
    }
  }
  function navOpen() { var s = document.querySelector(".shell"); return !!s && s.classList.contains("nav-open"); }
  document.addEventListener("click", function (e) {
    if (!e.target.closest) return;
    if (e.target.closest("#menu-button")) setNav(!navOpen(), false);
    else if (e.target.closest("#sidebar-backdrop")) setNav(false, true);
  });
  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape" && navOpen()) { e.preventDefault(); setNav(false, true); }
  });
  // focus leaving the open drawer (Tab past its last link) closes it
  document.addEventListener("focusin", function (e) {
    if (navOpen() && !e.target.closest("#sidebar") && !e.target.closest("#menu-button")) setNav(false, false);
  });
  window.addEventListener("resize", function () { if (navOpen() && window.innerWidth > 900) setNav(false, false); });

  // ---- times in the user's time zone ----
  // The server shows times in the zone stored for the user; when the browser's zone
  // differs (first visit, travel), it is stored and the times on this page are shown
  // in it at once. Hover shows the absolute time.
  var TIME_FORMATS = {
    date: { month: "short", day: "numeric", year: "numeric" },
    minute: { month: "short", day: "numeric", year: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23" },
    second: { month: "short", day: "numeric", year: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" }
  };
  function showTimes(zone) {
    document.querySelectorAll("time[data-format]").forEach(function (t) {
      var d = new Date(t.getAttribute("datetime")), opts = TIME_FORMATS[t.dataset.format];
      if (isNaN(d) || !opts) return;
      t.textContent = new Intl.DateTimeFormat("en-US", Object.assign({ timeZone: zone }, opts)).format(d);
      t.title = new Intl.DateTimeFormat("en-US", { timeZone: zone, dateStyle: "full", timeStyle: "long" }).format(d) + " (" + zone + ")";
    });
  }
  var browserZone = "";
  try { browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { browserZone = ""; }
  function syncTimeZone() {
    var m = document.querySelector('meta[name="user-time-zone"]');
    if (!m || !browserZone || m.getAttribute("content") === browserZone) return;
    fetch("/me/time-zone", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded", "X-CSRF-Token": csrfToken() },
      body: new URLSearchParams({ time_zone: browserZone }).toString()
    }).then(function (r) {
      if (!r.ok) return;
      m.setAttribute("content", browserZone);
      showTimes(browserZone);
    });
  }

  function init() {
    syncTimeZone();
    readMeta();
    render();
    renderRestore();
    // forms that ask for the typed DELETE on their own page (a tag that deletes)
    document.querySelectorAll("[data-confirm-for]").forEach(function (input) {
      wireConfirm(input, document.getElementById(input.dataset.confirmFor));
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
})();
