/* Pacto: small progressive enhancements. Loaded with `defer` after htmx. */
(function () {
  'use strict';

  // Events for which htmx already asked for confirmation (see htmx:confirm below).
  var handledByHtmx = typeof WeakSet === 'function' ? new WeakSet() : null;

  function alreadyHandled(evt) {
    return evt.defaultPrevented || (handledByHtmx !== null && handledByHtmx.has(evt));
  }

  function confirmMessage(el) {
    return el && el.hasAttribute && el.hasAttribute('data-confirm') ? el.getAttribute('data-confirm') : null;
  }

  // CSRF token on every htmx request.
  var meta = document.querySelector('meta[name="csrf-token"]');
  document.body.addEventListener('htmx:configRequest', function (evt) {
    if (meta && meta.content) evt.detail.headers['X-CSRFToken'] = meta.content;
  });

  // data-confirm on htmx-driven elements: htmx fires htmx:confirm before each request.
  document.body.addEventListener('htmx:confirm', function (evt) {
    var trigger = evt.detail.triggeringEvent;
    if (trigger && handledByHtmx !== null) handledByHtmx.add(trigger);
    var msg = confirmMessage(trigger && trigger.submitter) || confirmMessage(evt.detail.elt);
    if (msg === null) return;
    evt.preventDefault();
    if (window.confirm(msg)) evt.detail.issueRequest(true);
  });

  // data-confirm on plain forms (or on the button that submits them).
  // htmx forms have already been handled, and their default prevented, by then.
  document.addEventListener('submit', function (evt) {
    if (alreadyHandled(evt)) return;
    var msg = confirmMessage(evt.submitter) || confirmMessage(evt.target);
    if (msg !== null && !window.confirm(msg)) {
      evt.preventDefault();
      evt.stopPropagation();
    }
  });

  // data-confirm on buttons and links that do not submit a form.
  document.addEventListener('click', function (evt) {
    var el = evt.target.closest && evt.target.closest('button[data-confirm], input[data-confirm], a[data-confirm]');
    if (!el || alreadyHandled(evt)) return;
    if (el.form && el.type === 'submit') return; // confirmed by the submit listener
    if (!window.confirm(el.getAttribute('data-confirm'))) {
      evt.preventDefault();
      evt.stopPropagation();
    }
  });

  // <select data-autosubmit>: submit its form on change (language switcher).
  document.addEventListener('change', function (evt) {
    var select = evt.target;
    if (!select.matches || !select.matches('select[data-autosubmit]') || !select.form) return;
    if (typeof select.form.requestSubmit === 'function') select.form.requestSubmit();
    else select.form.submit();
  });

  // After an htmx swap, move focus into the new content for keyboard users.
  // The event is dispatched on the new content (also for outerHTML swaps).
  document.body.addEventListener('htmx:afterSwap', function (evt) {
    var root = evt.target;
    if (!root || !root.isConnected || !root.querySelector) return;
    var sel = '[autofocus], [data-focus]';
    var el = root.matches(sel) ? root : root.querySelector(sel);
    if (!el) return;
    if (!el.hasAttribute('tabindex') && el.tabIndex < 0) el.setAttribute('tabindex', '-1');
    el.focus();
  });
})();
