/* releasedesk: hand-written behaviour. Plain ES2020, no dependencies.
 *
 * Loaded with <script src="/static/app.js" defer>. There is no inline script anywhere (CSP).
 * Every behaviour is delegated from `document` and driven by data-* attributes, so it keeps
 * working for content that htmx swaps in later. Nothing here calls eval / new Function.
 */
(() => {
  "use strict";

  // Lets CSS tell "JS is running" apart from no-JS fallbacks (html.js .js-hide).
  document.documentElement.classList.add("js");

  /** The Element an event came from (events can come from text nodes or the document). */
  const targetEl = (e) => (e.target instanceof Element ? e.target : null);

  // ---------------------------------------------------------------------------------------
  // Dialogs: [data-dialog-open="ID"] opens <dialog id="ID"> as a modal;
  //          [data-dialog-close] closes the dialog it sits in.
  // ---------------------------------------------------------------------------------------
  document.addEventListener("click", (e) => {
    const el = targetEl(e);
    if (!el) return;

    const opener = el.closest("[data-dialog-open]");
    if (opener) {
      const dialog = document.getElementById(opener.getAttribute("data-dialog-open"));
      if (dialog instanceof HTMLDialogElement) {
        e.preventDefault();
        if (!dialog.open) dialog.showModal();
      }
      return;
    }

    const closer = el.closest("[data-dialog-close]");
    if (closer) {
      const dialog = closer.closest("dialog");
      if (dialog) {
        e.preventDefault();
        dialog.close();
      }
    }
  });

  // ---------------------------------------------------------------------------------------
  // Modal dialogs keep keyboard focus: Tab and Shift+Tab wrap inside the open modal (the
  // browser alone lets Tab leave it for the address bar), and closing it hands focus back to
  // the control that had it before (the opener), whichever way the dialog was opened.
  // ---------------------------------------------------------------------------------------
  const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]):not([type="hidden"]), ' +
    'select:not([disabled]), textarea:not([disabled]), summary, [tabindex]:not([tabindex="-1"])';
  let lastOutsideFocus = null; // the last element focused outside any open modal
  const openModal = () => [...document.querySelectorAll("dialog[open]")].find((d) => d.matches(":modal"));

  document.addEventListener("focusin", (e) => {
    const el = targetEl(e);
    if (el && !el.closest("dialog")) lastOutsideFocus = el;
  });

  document.addEventListener("keydown", (e) => {
    if (e.key !== "Tab") return;
    const dialog = openModal();
    if (!dialog) return;
    const items = [...dialog.querySelectorAll(FOCUSABLE)].filter((el) => el.getClientRects().length > 0);
    if (items.length === 0) return;
    const first = items[0];
    const last = items[items.length - 1];
    const here = document.activeElement;
    if (e.shiftKey && (here === first || !dialog.contains(here))) {
      e.preventDefault();
      last.focus();
    } else if (!e.shiftKey && (here === last || !dialog.contains(here))) {
      e.preventDefault();
      first.focus();
    }
  });

  document.addEventListener("close", (e) => {
    if (!(e.target instanceof HTMLDialogElement)) return;
    const back = lastOutsideFocus;
    // After the dialog's own handlers (which may submit or navigate) have run.
    setTimeout(() => {
      const here = document.activeElement;
      const lost = !here || here === document.body || e.target.contains(here);
      if (lost && back?.isConnected && !openModal()) back.focus();
    }, 0);
  }, true);

  // ---------------------------------------------------------------------------------------
  // Confirmation, using the shared <dialog id="confirm-dialog"> from base.html.
  // It contains <p data-confirm-message>, button[data-confirm-ok] and button[data-confirm-cancel].
  //
  // askConfirm(message, {ok, cancel}) shows the dialog and calls exactly one of ok/cancel.
  // Closing the dialog any other way (Esc, [data-dialog-close]) counts as cancel.
  // ---------------------------------------------------------------------------------------
  let pendingConfirm = null; // {ok, cancel} while the dialog is open

  const confirmDialog = () => document.getElementById("confirm-dialog");

  function askConfirm(message, handlers) {
    const dialog = confirmDialog();
    if (!(dialog instanceof HTMLDialogElement)) {
      // Fallback if a page lacks the shared dialog (e.g. an error page).
      (window.confirm(message) ? handlers.ok : handlers.cancel)?.();
      return;
    }
    settleConfirm(false); // a previous question still open is cancelled
    const text = dialog.querySelector("[data-confirm-message]");
    if (text) text.textContent = message;
    pendingConfirm = handlers;
    if (!dialog.open) dialog.showModal();
    // For destructive questions, default focus goes to Cancel unless the template chose (autofocus).
    if (!dialog.querySelector("[autofocus]")) dialog.querySelector("[data-confirm-cancel]")?.focus();
  }

  function settleConfirm(ok) {
    const handlers = pendingConfirm;
    pendingConfirm = null;
    if (handlers) (ok ? handlers.ok : handlers.cancel)?.();
  }

  document.addEventListener("click", (e) => {
    const el = targetEl(e);
    const ok = el?.closest("[data-confirm-ok]");
    const cancel = el?.closest("[data-confirm-cancel]");
    if (!ok && !cancel) return;
    e.preventDefault(); // the buttons may sit in a <form method="dialog">
    const handlers = pendingConfirm;
    pendingConfirm = null; // take it before close() so the close event below does not cancel
    ok?.closest("dialog")?.close();
    cancel?.closest("dialog")?.close();
    if (handlers) (ok ? handlers.ok : handlers.cancel)?.();
  });

  // "close" does not bubble, so listen in the capture phase.
  document.addEventListener("close", (e) => {
    if (e.target === confirmDialog()) settleConfirm(false);
  }, true);

  // ---------------------------------------------------------------------------------------
  // form[data-confirm="message"] (or a submit button with data-confirm, which wins):
  // ask before submitting. This works for plain forms and for htmx forms (hx-post).
  //
  // htmx 4.0.1 attaches its "submit" listener to the <form> itself (bubbling, not capture;
  // htmx.js #onTrigger → fromElt.addEventListener). A capture-phase listener on `document`
  // runs before it, and stopImmediatePropagation() keeps the event away from htmx until the
  // user confirms. After OK we re-submit with requestSubmit(submitter). The form is marked as
  // confirmed only while that call runs (it dispatches "submit" synchronously).
  // ---------------------------------------------------------------------------------------
  const confirmedForms = new WeakSet();

  document.addEventListener("submit", (e) => {
    const form = e.target;
    if (!(form instanceof HTMLFormElement)) return;
    if (confirmedForms.has(form)) return; // approved: let htmx or the browser carry on

    const submitter = e.submitter;
    const message = submitter?.getAttribute("data-confirm") ?? form.getAttribute("data-confirm");
    if (message == null) return;

    e.preventDefault();
    e.stopImmediatePropagation();

    askConfirm(message, {
      ok: () => {
        confirmedForms.add(form);
        try {
          if (submitter && submitter.form === form) form.requestSubmit(submitter);
          else form.requestSubmit();
        } finally {
          confirmedForms.delete(form);
        }
      },
      cancel: () => {},
    });
  }, true);

  // hx-confirm="…" on htmx elements: use the same dialog instead of window.confirm().
  // htmx 4 fires the cancelable "htmx:confirm" event, then waits for issueRequest()/dropRequest().
  // "js:" confirms are left to htmx (they need eval, which our CSP forbids anyway).
  document.addEventListener("htmx:confirm", (e) => {
    const detail = e.detail;
    const message = detail?.ctx?.confirm;
    if (typeof message !== "string" || /^(js|javascript):/.test(message)) return;
    e.preventDefault();
    askConfirm(message, { ok: detail.issueRequest, cancel: detail.dropRequest });
  });

  // ---------------------------------------------------------------------------------------
  // Copy buttons: <button type="button" class="copy" data-copy="text">Copy</button>
  // Copies the text; the label reads "Copied" for a moment.
  // ---------------------------------------------------------------------------------------
  const copyLabels = new WeakMap(); // button → {label, timer}

  async function copyText(text) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {
      // navigator.clipboard needs a secure context (https or localhost); fall back to a
      // hidden textarea and the legacy copy command.
      const area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.className = "sr-only";
      document.body.append(area);
      area.select();
      let ok = false;
      try { ok = document.execCommand("copy"); } catch { ok = false; }
      area.remove();
      return ok;
    }
  }

  document.addEventListener("click", async (e) => {
    const button = targetEl(e)?.closest("button.copy[data-copy]");
    if (!button) return;
    e.preventDefault();
    const state = copyLabels.get(button) ?? { label: button.textContent, timer: 0 };
    copyLabels.set(button, state);
    const ok = await copyText(button.getAttribute("data-copy"));
    button.textContent = ok ? "Copied" : "Copy failed";
    button.classList.toggle("copied", ok);
    clearTimeout(state.timer);
    state.timer = setTimeout(() => {
      button.textContent = state.label;
      button.classList.remove("copied");
    }, 1500);
  });

  // ---------------------------------------------------------------------------------------
  // Toasts: .toast-close removes its toast. Every .toast removes itself after 6 s (later if the
  // pointer or focus is on it). Toasts in the initial page and toasts added later by htmx
  // (main or out-of-band swaps) are both handled. The observer watches <body> rather than only
  // #toasts, so it also survives #toasts itself being replaced by an hx-swap-oob.
  // ---------------------------------------------------------------------------------------
  const TOAST_MS = 6000;
  const armedToasts = new WeakSet();

  function removeToast(toast) {
    if (!toast.isConnected || toast.classList.contains("is-leaving")) return;
    toast.classList.add("is-leaving"); // short fade (see app.css)
    setTimeout(() => toast.remove(), 160);
  }

  function armToast(toast) {
    if (armedToasts.has(toast)) return;
    armedToasts.add(toast);
    const expire = () => {
      if (!toast.isConnected) return;
      if (toast.matches(":hover, :focus-within")) setTimeout(expire, 1000); // still being read
      else removeToast(toast);
    };
    setTimeout(expire, TOAST_MS);
  }

  function armToastsIn(node) {
    if (!(node instanceof Element)) return;
    if (node.matches(".toast")) armToast(node);
    node.querySelectorAll(".toast").forEach(armToast);
  }

  document.addEventListener("click", (e) => {
    const close = targetEl(e)?.closest(".toast-close");
    if (!close) return;
    e.preventDefault();
    const toast = close.closest(".toast");
    if (toast) removeToast(toast);
  });

  new MutationObserver((records) => {
    for (const record of records) record.addedNodes.forEach(armToastsIn);
  }).observe(document.body, { childList: true, subtree: true });
  armToastsIn(document.body);

  // ---------------------------------------------------------------------------------------
  // select[data-autosubmit]: changing the value submits its form (workspace switcher, role
  // selects). requestSubmit() fires a real "submit" event, so htmx and data-confirm both apply.
  // ---------------------------------------------------------------------------------------
  document.addEventListener("change", (e) => {
    const select = e.target;
    if (select instanceof HTMLSelectElement && select.hasAttribute("data-autosubmit") && select.form) {
      select.form.requestSubmit();
    }
  });

  // ---------------------------------------------------------------------------------------
  // Bulk selection:
  //   <input type="checkbox" data-select-all="ids">   toggles every checkbox name="ids"
  //   <span data-selected-count="ids">0</span>         shows how many are checked
  // Scope is the form (including inputs linked with form="…"), or the document if there is none.
  // The select-all box also shows a mixed (indeterminate) state.
  // ---------------------------------------------------------------------------------------
  const scopeOf = (el) => el.form ?? el.closest("form") ?? document;

  function boxesIn(scope, name) {
    const candidates = scope instanceof HTMLFormElement
      ? Array.from(scope.elements)
      : Array.from(scope.querySelectorAll("input[type=checkbox]"));
    return candidates.filter((b) =>
      b instanceof HTMLInputElement && b.type === "checkbox" && b.name === name &&
      !b.hasAttribute("data-select-all"));
  }

  function updateSelection(scope, name) {
    const boxes = boxesIn(scope, name);
    // Selected boxes of other pages ride along as hidden inputs (see persisted selections).
    const carried = scope instanceof HTMLFormElement
      ? scope.querySelectorAll(`[data-selection-carry] input[name="${CSS.escape(name)}"]`).length
      : 0;
    const checked = boxes.filter((b) => b.checked).length + carried;
    const quoted = CSS.escape(name);

    for (const master of document.querySelectorAll(`input[type=checkbox][data-select-all="${quoted}"]`)) {
      if (scopeOf(master) !== scope) continue;
      const onPage = boxes.filter((b) => b.checked).length;
      master.checked = boxes.length > 0 && onPage === boxes.length;
      master.indeterminate = onPage > 0 && onPage < boxes.length;
    }

    // Counters inside the same form; if there are none there, the ones anywhere on the page.
    const counterSelector = `[data-selected-count="${quoted}"]`;
    let counters = scope.querySelectorAll(counterSelector);
    if (counters.length === 0) counters = document.querySelectorAll(counterSelector);
    counters.forEach((c) => { c.textContent = String(checked); });
  }

  function updateAllSelections() {
    for (const el of document.querySelectorAll("[data-select-all], [data-selected-count]")) {
      updateSelection(scopeOf(el), el.getAttribute("data-select-all") ?? el.getAttribute("data-selected-count"));
    }
  }

  document.addEventListener("change", (e) => {
    const box = e.target;
    if (!(box instanceof HTMLInputElement) || box.type !== "checkbox") return;
    const scope = scopeOf(box);
    const all = box.getAttribute("data-select-all");
    if (all != null) {
      for (const b of boxesIn(scope, all)) if (!b.disabled) b.checked = box.checked;
      updateSelection(scope, all);
    } else if (box.name) {
      updateSelection(scope, box.name);
    }
  });

  // Recount on load, after htmx swaps rows in or out, and when the browser restores a page
  // from the back/forward cache with its checkbox states.
  updateAllSelections();
  document.addEventListener("htmx:after:swap", updateAllSelections);
  window.addEventListener("pageshow", updateAllSelections);
})();

// A dialog that must be open when the page arrives (e.g. a form re-rendered with errors).
function openDialogsOnLoad() {
  document.querySelectorAll('dialog[data-open-on-load]').forEach(function (d) {
    if (!d.open) d.showModal();
  });
}
if (document.readyState === 'loading') {
  document.addEventListener('DOMContentLoaded', openDialogsOnLoad);
} else {
  openDialogsOnLoad();
}

// form[data-max-selected=N][data-max-selected-name=NAME][data-selection-noun=WORD]: refuse to
// submit with no box or more than N boxes named NAME checked, and say why in the form's [data-selection-error]. Runs on
// window in the capture phase, before the confirmation dialog and htmx see the submit.
window.addEventListener('submit', function (event) {
  var form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.hasAttribute('data-max-selected')) return;
  var max = parseInt(form.getAttribute('data-max-selected'), 10);
  var name = form.getAttribute('data-max-selected-name');
  var checked = form.querySelectorAll('input[type=checkbox][name="' + name + '"]:checked, [data-selection-carry] input[name="' + name + '"]').length;
  var message = null;
  var noun = form.getAttribute('data-selection-noun') || 'task';
  if (checked === 0) message = 'Select at least one ' + noun + ' first.';
  else if (checked > max) message = 'You selected ' + checked + ' ' + noun + 's; at most ' + max + ' can be handled at a time.';
  var box = form.querySelector('[data-selection-error]');
  if (message) {
    event.preventDefault();
    event.stopImmediatePropagation();
    if (box) { box.textContent = message; box.hidden = false; box.scrollIntoView({ block: 'nearest' }); }
    var dialog = form.querySelector('dialog[open]');
    if (dialog) dialog.close();
  } else if (box) {
    box.hidden = true;
  }
}, true);

// input[type=file][data-read-into=ID]: reads the chosen text file into the textarea #ID, so a
// bundle can be uploaded without multipart forms.
document.addEventListener('change', function (event) {
  var input = event.target;
  if (!(input instanceof HTMLInputElement) || input.type !== 'file' || !input.hasAttribute('data-read-into')) return;
  var target = document.getElementById(input.getAttribute('data-read-into'));
  var file = input.files && input.files[0];
  if (!target || !file) return;
  file.text().then(function (text) { target.value = text; });
});

// form[data-persist-selection=KEY]: the boxes named by its data-max-selected-name keep their
// selection while the user pages, sorts and filters (sessionStorage, per KEY). Selected ids that
// are not on the page go with the form as hidden inputs in its [data-selection-carry], so the
// counters, the 100 limit and the server see them all. [data-selection-clear] empties the
// selection; button[data-select-ids="1 2 3"] adds those ids. Submitting the form ends it (a
// form re-rendered with an error carries its selection again, and is read back from the page).
(function () {
  var storeKey = function (form) { return 'selection:' + form.getAttribute('data-persist-selection'); };
  var fieldName = function (form) { return form.getAttribute('data-max-selected-name'); };

  function read(form) {
    try {
      var raw = sessionStorage.getItem(storeKey(form));
      return raw === null ? null : new Set(JSON.parse(raw));
    } catch (e) { return null; }
  }
  function write(form, set) {
    try { sessionStorage.setItem(storeKey(form), JSON.stringify(Array.from(set))); } catch (e) { /* private mode: this page only */ }
  }
  function boxes(form) {
    return Array.from(form.querySelectorAll('input[type=checkbox][name="' + CSS.escape(fieldName(form)) + '"]'));
  }
  function fromPage(form) {
    var set = new Set();
    boxes(form).forEach(function (b) { if (b.checked) set.add(b.value); });
    form.querySelectorAll('[data-selection-carry] input').forEach(function (i) { set.add(i.value); });
    return set;
  }
  // Shows `set` on the page: boxes checked, the rest carried, counters and Clear updated.
  function show(form, set) {
    var here = new Set();
    boxes(form).forEach(function (b) { here.add(b.value); b.checked = set.has(b.value); });
    var carry = form.querySelector('[data-selection-carry]');
    if (carry) {
      var inputs = [];
      set.forEach(function (id) {
        if (here.has(id)) return;
        var input = document.createElement('input');
        input.type = 'hidden';
        input.name = fieldName(form);
        input.value = id;
        inputs.push(input);
      });
      carry.replaceChildren.apply(carry, inputs);
    }
    form.querySelectorAll('[data-selection-clear]').forEach(function (b) { b.hidden = set.size === 0; });
    // Let the bulk-selection code recount (and set the select-all box).
    var box = boxes(form)[0];
    if (box) box.dispatchEvent(new Event('change', { bubbles: true }));
    else form.querySelectorAll('[data-selected-count]').forEach(function (c) { c.textContent = String(set.size); });
  }
  function sync() {
    document.querySelectorAll('form[data-persist-selection]').forEach(function (form) {
      var set = read(form);
      if (set === null) { set = fromPage(form); write(form, set); }
      show(form, set);
    });
  }

  document.addEventListener('change', function (e) {
    var box = e.target;
    if (!(box instanceof HTMLInputElement) || box.type !== 'checkbox' || !e.isTrusted) return;
    var form = box.form || box.closest('form');
    if (!form || !form.hasAttribute('data-persist-selection')) return;
    var set = read(form) || new Set();
    boxes(form).forEach(function (b) { if (b.checked) set.add(b.value); else set.delete(b.value); });
    write(form, set);
    form.querySelectorAll('[data-selection-clear]').forEach(function (b) { b.hidden = set.size === 0; });
    var carry = form.querySelector('[data-selection-carry]');
    if (carry) show(form, set);
  });
  document.addEventListener('click', function (e) {
    var button = e.target instanceof Element ? e.target.closest('[data-selection-clear], [data-select-ids]') : null;
    if (!button) return;
    var form = button.form || button.closest('form');
    if (!form || !form.hasAttribute('data-persist-selection')) return;
    var set = read(form) || new Set();
    if (button.hasAttribute('data-selection-clear')) set.clear();
    else button.getAttribute('data-select-ids').split(' ').forEach(function (id) { if (id) set.add(id); });
    write(form, set);
    show(form, set);
  });
  document.addEventListener('submit', function (e) {
    var form = e.target;
    if (form instanceof HTMLFormElement && form.hasAttribute('data-persist-selection')) {
      try { sessionStorage.removeItem(storeKey(form)); } catch (err) { /* nothing kept */ }
    }
  });

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', sync);
  else sync();
  document.addEventListener('htmx:after:swap', sync);
  window.addEventListener('pageshow', sync);
})();

// A region that scrolls sideways (a wide table, a diff) must be reachable by keyboard to be
// scrolled: each one that overflows gets tabindex="0" and a name, and loses them when it fits
// again (a wider window, or the card rows of narrow screens).
(function () {
  'use strict';
  var SCROLLERS = '.table-wrap, .diff-wrap';
  function mark() {
    document.querySelectorAll(SCROLLERS).forEach(function (el) {
      var overflows = el.scrollWidth > el.clientWidth + 1;
      if (overflows && !el.hasAttribute('tabindex')) {
        el.setAttribute('tabindex', '0');
        el.setAttribute('data-scroll-focus', '');
        if (!el.hasAttribute('aria-label')) {
          el.setAttribute('role', 'region');
          el.setAttribute('aria-label', 'Scrollable content');
        }
      } else if (!overflows && el.hasAttribute('data-scroll-focus')) {
        el.removeAttribute('tabindex');
        el.removeAttribute('data-scroll-focus');
        if (el.getAttribute('aria-label') === 'Scrollable content') {
          el.removeAttribute('role');
          el.removeAttribute('aria-label');
        }
      }
    });
  }
  var pending = null;
  function later() {
    if (pending) clearTimeout(pending);
    pending = setTimeout(mark, 100);
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', mark);
  else mark();
  document.addEventListener('htmx:after:swap', later);
  window.addEventListener('resize', later);
  window.addEventListener('load', mark);
})();

// The workspace navigation is one row that scrolls sideways on a narrow screen: bring the
// current entry into view.
(function () {
  'use strict';
  function reveal() {
    var nav = document.querySelector('nav.subnav');
    var here = nav && nav.querySelector('a[aria-current="page"]');
    if (!here || nav.scrollWidth <= nav.clientWidth) return;
    nav.scrollLeft = Math.max(0, here.offsetLeft - nav.offsetLeft - nav.clientWidth / 3);
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', reveal);
  else reveal();
})();

// details[data-open-wide]: collapsed filters, open on screens wider than a phone; the number of
// filters set ([data-active-filters] inside the summary) follows the user's changes.
(function () {
  'use strict';
  function openWide() {
    if (!window.matchMedia('(min-width: 761px)').matches) return;
    document.querySelectorAll('details[data-open-wide]').forEach(function (d) { d.open = true; });
  }
  function recount(e) {
    var details = e.target instanceof Element ? e.target.closest('details[data-open-wide]') : null;
    var out = details && details.querySelector('[data-active-filters]');
    if (!out) return;
    var n = 0;
    details.querySelectorAll('input, select').forEach(function (f) { if (f.value.trim() !== '') n += 1; });
    out.textContent = String(n);
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', openWide);
  else openWide();
  document.addEventListener('change', recount);
  document.addEventListener('input', recount);
})();

// The region step builder (templates/region_release/form.html), [data-step-builder]:
//   [data-step-list] holds the step cards [data-step]; template[data-step-template] is a blank
//   card; button[data-step-add=KIND] adds one, [data-step-remove] and [data-step-move=up|down]
//   edit the list. Without JS those buttons post the form and the server does the same. After
//   every change the cards are renumbered: names step{i}_*, ids s{i}-*, the step titles,
//   aria-labels and the buttons' values, and the hidden [data-step-rows] count, so the server
//   reads the steps in the order shown.
//   select[data-step-kind] shows the fields of its type ([data-step-for=deploy|checkpoint]).
// Searchable multi-selects, fieldset[data-picker]: input[data-picker-filter] hides the
//   [data-picker-option] labels that do not contain the typed text; [data-picker-count] says
//   how many boxes are ticked (hidden ones count too, and are still posted).
(function () {
  function fieldsFor(kind) { return kind === 'deploy' ? 'deploy' : 'checkpoint'; }

  function showKind(card) {
    var select = card.querySelector('[data-step-kind]');
    if (!select) return;
    var wanted = fieldsFor(select.value);
    card.querySelectorAll('[data-step-for]').forEach(function (el) {
      el.classList.toggle('step-off', el.getAttribute('data-step-for') !== wanted);
    });
  }

  function countPicker(picker) {
    var count = picker.querySelector('[data-picker-count]');
    if (count) count.textContent = picker.querySelectorAll('input[type=checkbox]:checked').length + ' selected';
  }

  function filterPicker(picker, text) {
    var query = text.trim().toLowerCase();
    var shown = 0;
    picker.querySelectorAll('[data-picker-option]').forEach(function (option) {
      var match = query === '' || option.textContent.toLowerCase().indexOf(query) !== -1;
      option.hidden = !match;
      if (match) shown++;
    });
    var empty = picker.querySelector('[data-picker-empty]');
    if (empty) empty.hidden = shown > 0;
  }

  function setUp(scope) {
    scope.querySelectorAll('[data-picker-filter]').forEach(function (input) { input.hidden = false; });
    scope.querySelectorAll('[data-picker]').forEach(countPicker);
    scope.querySelectorAll('[data-step]').forEach(showKind);
    if (scope.matches('[data-step]')) showKind(scope);
  }

  function renumber(builder) {
    var cards = Array.from(builder.querySelectorAll('[data-step-list] > [data-step]'));
    cards.forEach(function (card, i) {
      var n = String(i + 1);
      card.querySelectorAll('*').forEach(function (el) { rename(el, i, n); });
      rename(card, i, n);
      var num = card.querySelector('[data-step-num]');
      if (num) num.textContent = n;
      var title = card.querySelector('[data-step-title]');
      if (title) title.textContent = 'Step ' + n;
      card.querySelectorAll('[data-step-remove], [data-step-move]').forEach(function (b) { b.value = String(i); });
      var up = card.querySelector('[data-step-move=up]');
      var down = card.querySelector('[data-step-move=down]');
      if (up) up.disabled = i === 0;
      if (down) down.disabled = i === cards.length - 1;
    });
    var rows = builder.closest('form').querySelector('[data-step-rows]');
    if (rows) rows.value = String(cards.length);
    var empty = builder.querySelector('[data-steps-empty]');
    if (empty) empty.hidden = cards.length > 0;
  }

  function rename(el, i, n) {
    if (el.name) el.name = el.name.replace(/^step\d+_/, 'step' + i + '_');
    ['id', 'for', 'aria-describedby'].forEach(function (attr) {
      var v = el.getAttribute(attr);
      if (v) el.setAttribute(attr, v.replace(/\bs\d+-/g, 's' + i + '-'));
    });
    var label = el.getAttribute('aria-label');
    if (label) el.setAttribute('aria-label', label.replace(/\b([Ss]tep) \d+/, '$1 ' + n));
  }

  function say(builder, message) {
    var status = builder.querySelector('[data-step-status]');
    if (status) status.textContent = message;
  }

  function kindLabel(builder, kind) {
    var button = builder.querySelector('[data-step-add="' + kind + '"]');
    return button ? button.textContent.replace('+', '').trim() : kind;
  }

  document.addEventListener('click', function (e) {
    var button = e.target instanceof Element ? e.target.closest('[data-step-add], [data-step-remove], [data-step-move]') : null;
    var builder = button && button.closest('[data-step-builder]');
    if (!builder) return;
    var list = builder.querySelector('[data-step-list]');
    var template = builder.querySelector('template[data-step-template]');
    if (!list || !template) return;
    e.preventDefault();
    var card = button.closest('[data-step]');

    if (button.hasAttribute('data-step-add')) {
      var kind = button.getAttribute('data-step-add');
      var fresh = template.content.firstElementChild.cloneNode(true);
      var select = fresh.querySelector('[data-step-kind]');
      if (select) select.value = kind;
      list.appendChild(fresh);
      setUp(fresh);
      renumber(builder);
      fresh.querySelector('[data-step-kind]').focus();
      fresh.scrollIntoView({ block: 'nearest' });
      say(builder, kindLabel(builder, kind) + ' added as step ' + list.children.length + '.');
    } else if (button.hasAttribute('data-step-remove')) {
      var cards = Array.from(list.children);
      var at = cards.indexOf(card);
      card.remove();
      renumber(builder);
      var next = list.children[at] || list.children[at - 1];
      var focus = next ? next.querySelector('[data-step-remove]') : builder.querySelector('[data-step-add]');
      if (focus) focus.focus();
      say(builder, 'Step ' + (at + 1) + ' removed.');
    } else {
      var up = button.getAttribute('data-step-move') === 'up';
      var other = up ? card.previousElementSibling : card.nextElementSibling;
      if (!other) return;
      if (up) list.insertBefore(card, other); else list.insertBefore(other, card);
      renumber(builder);
      // Keep focus on the moved card; at the top or bottom its button is now disabled.
      var same = card.querySelector('[data-step-move=' + (up ? 'up' : 'down') + ']');
      var opposite = card.querySelector('[data-step-move=' + (up ? 'down' : 'up') + ']');
      (same && !same.disabled ? same : opposite).focus();
      say(builder, 'Moved to step ' + (Array.from(list.children).indexOf(card) + 1) + '.');
    }
  });

  document.addEventListener('change', function (e) {
    var el = e.target;
    if (!(el instanceof Element)) return;
    if (el.matches('[data-step-kind]')) {
      var card = el.closest('[data-step]');
      if (card) showKind(card);
    }
    var picker = el.closest('[data-picker]');
    if (picker && el.matches('input[type=checkbox]')) countPicker(picker);
  });

  document.addEventListener('input', function (e) {
    var el = e.target;
    if (!(el instanceof Element) || !el.matches('[data-picker-filter]')) return;
    var picker = el.closest('[data-picker]');
    if (picker) filterPicker(picker, el.value);
  });

  // In a filter box Enter must not submit the form: it ticks the only option left, if one is.
  // Escape clears the filter.
  document.addEventListener('keydown', function (e) {
    var el = e.target;
    if (!(el instanceof HTMLInputElement) || !el.matches('[data-picker-filter]')) return;
    var picker = el.closest('[data-picker]');
    if (!picker) return;
    if (e.key === 'Enter') {
      e.preventDefault();
      var shown = Array.from(picker.querySelectorAll('[data-picker-option]')).filter(function (o) { return !o.hidden; });
      if (shown.length === 1) {
        var box = shown[0].querySelector('input[type=checkbox]');
        box.checked = !box.checked;
        box.dispatchEvent(new Event('change', { bubbles: true }));
      }
    } else if (e.key === 'Escape' && el.value !== '') {
      e.preventDefault();
      el.value = '';
      filterPicker(picker, '');
    }
  });

  function init() { document.querySelectorAll('[data-step-builder]').forEach(setUp); }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
  // Back/forward restores the typed filters and ticks: show the page as it is.
  window.addEventListener('pageshow', function () {
    document.querySelectorAll('[data-picker]').forEach(function (p) {
      var f = p.querySelector('[data-picker-filter]');
      filterPicker(p, f ? f.value : '');
      countPicker(p);
    });
  });
})();

// -----------------------------------------------------------------------------------------
// form[data-warn-unsaved]: edits not yet sent (the script editor). While a field of the form
// (also one linked with form="…", except [data-unsaved-ignore]) differs from what the page
// arrived with, or the page arrived with unsaved input (data-dirty="true", a form re-rendered
// with a message): [data-unsaved-hint="FORM-ID"] shows, the form's
// button[data-enable-when-unsaved] is enabled, and leaving the page asks first (beforeunload).
// Submitting the form ends the warning: what it holds is being sent.
// input[data-enter-clicks="ID"]: Enter clicks button #ID (a field linked to a form whose
// default button is another one).
// -----------------------------------------------------------------------------------------
(() => {
  "use strict";
  const initial = new WeakMap(); // form → its fields as the page arrived
  const sent = new WeakSet(); // forms being submitted

  const fields = (form) =>
    Array.from(form.elements)
      .filter((el) => el.name && el.type !== "hidden" && !(el instanceof HTMLButtonElement))
      .filter((el) => !el.hasAttribute("data-unsaved-ignore"))
      .map((el) => `${el.name}=${el.value}`)
      .join("\u0000");

  const dirty = (form) =>
    form.getAttribute("data-dirty") === "true" || fields(form) !== initial.get(form);

  function update(form) {
    const edited = dirty(form);
    document
      .querySelectorAll(`[data-unsaved-hint="${CSS.escape(form.id)}"]`)
      .forEach((hint) => { hint.hidden = !edited; });
    for (const button of form.elements) {
      if (!(button instanceof HTMLButtonElement) || !button.hasAttribute("data-enable-when-unsaved")) continue;
      if (!button.hasAttribute("data-was-disabled")) {
        button.setAttribute("data-was-disabled", String(button.disabled));
        button.setAttribute("data-was-title", button.title);
      }
      const locked = !edited && button.getAttribute("data-was-disabled") === "true";
      button.disabled = locked;
      button.title = locked ? button.getAttribute("data-was-title") : "";
    }
  }

  function start() {
    document.querySelectorAll("form[data-warn-unsaved]").forEach((form) => {
      if (!initial.has(form)) initial.set(form, fields(form));
      update(form);
    });
  }

  const watched = (el) => {
    const form = el instanceof Element ? el.form || null : null;
    return form && form.hasAttribute("data-warn-unsaved") ? form : null;
  };
  for (const type of ["input", "change"]) {
    document.addEventListener(type, (e) => {
      const form = watched(e.target);
      if (form) update(form);
    });
  }
  document.addEventListener("submit", (e) => {
    if (e.target instanceof HTMLFormElement && e.target.hasAttribute("data-warn-unsaved")) {
      sent.add(e.target);
    }
  });
  document.addEventListener("keydown", (e) => {
    if (e.key !== "Enter" || !(e.target instanceof HTMLInputElement)) return;
    const id = e.target.getAttribute("data-enter-clicks");
    if (!id) return;
    e.preventDefault();
    const button = document.getElementById(id);
    if (button instanceof HTMLButtonElement && !button.disabled) button.click();
  });
  window.addEventListener("beforeunload", (e) => {
    for (const form of document.querySelectorAll("form[data-warn-unsaved]")) {
      if (!sent.has(form) && dirty(form)) {
        e.preventDefault();
        e.returnValue = ""; // older browsers show the dialog only when this is set
        return;
      }
    }
  });
  // Back to this page from the history: it may be shown again as it was left.
  window.addEventListener("pageshow", (e) => {
    if (e.persisted) {
      document.querySelectorAll("form[data-warn-unsaved]").forEach((form) => sent.delete(form));
      start();
    }
  });

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();

// time[datetime] (UTC from the server, "2026-12-06 14:39 UTC" as text without JavaScript): shown
// in the viewer's time zone. The text becomes relative ("3 min ago", "yesterday") for the last
// week and the local date and time before that; hovering shows the exact local time with its
// zone. time[data-exact] keeps the exact local time as its text (durations are read from it).
// Refreshed every 30 s and after htmx swaps.
(function () {
  var lang = document.documentElement.lang || undefined;
  var exact = new Intl.DateTimeFormat(lang, {
    year: 'numeric', month: 'short', day: 'numeric',
    hour: '2-digit', minute: '2-digit', second: '2-digit', timeZoneName: 'short'
  });
  var dated = new Intl.DateTimeFormat(lang, {
    year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit'
  });
  var relative = typeof Intl.RelativeTimeFormat === 'function'
    ? new Intl.RelativeTimeFormat(lang, { numeric: 'auto' }) : null;

  function ago(date, now) {
    var seconds = Math.round((date.getTime() - now) / 1000);
    var abs = Math.abs(seconds);
    if (!relative || abs >= 7 * 86400) return dated.format(date);
    if (abs < 45) return seconds <= 0 ? 'just now' : 'in a moment';
    if (abs < 3600) return relative.format(Math.round(seconds / 60), 'minute');
    if (abs < 86400) return relative.format(Math.round(seconds / 3600), 'hour');
    return relative.format(Math.round(seconds / 86400), 'day');
  }

  function localize(root) {
    var now = Date.now();
    (root || document).querySelectorAll('time[datetime]').forEach(function (el) {
      var date = new Date(el.getAttribute('datetime'));
      if (isNaN(date.getTime())) return;
      el.title = exact.format(date);
      el.textContent = el.hasAttribute('data-exact') ? exact.format(date) : ago(date, now);
    });
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', function () { localize(); });
  else localize();
  document.addEventListener('htmx:after:swap', function () { localize(); });
  window.setInterval(localize, 30000);
})();

// form[data-keep-fragment]: the page's fragment (a mailed link's `#step-3`, carried to the
// sign-in page by the redirect) goes with the form's action, so the redirect after sign-in
// inherits it and the browser lands on the part of the page the link named.
function keepFragment() {
  if (!/^#[A-Za-z0-9_-]{1,64}$/.test(location.hash)) return;
  document.querySelectorAll('form[data-keep-fragment]').forEach(function (form) {
    form.setAttribute('action', form.getAttribute('action').split('#')[0] + location.hash);
  });
}
if (document.readyState === 'loading') {
  document.addEventListener('DOMContentLoaded', keepFragment);
} else {
  keepFragment();
}
