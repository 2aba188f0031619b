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

  // The summary of a form's errors names each field, as a link to it: "Name: This field is required."
  // (the server knows the message; the page knows the label).
  function nameErrors(root) {
    var boxes = root.querySelectorAll ? root.querySelectorAll('.form-errors') : [];
    Array.prototype.forEach.call(boxes, function (box) {
      var form = box.nextElementSibling;
      while (form && form.tagName !== 'FORM') form = form.nextElementSibling;
      if (!form) form = box.closest('form') || (box.parentElement && box.parentElement.querySelector('form'));
      if (!form) return;
      Array.prototype.forEach.call(box.querySelectorAll('li[data-field]'), function (item) {
        if (item.querySelector('a')) return;
        var control = form.elements.namedItem(item.getAttribute('data-field'));
        if (control && !control.labels && control.length) control = control[0];
        var label = control && control.labels && control.labels[0];
        if (!label || !control.id) return;
        var link = document.createElement('a');
        link.href = '#' + control.id;
        link.textContent = label.textContent.replace(/\s*\*\s*$/, '').trim();
        item.insertBefore(document.createTextNode(': '), item.firstChild);
        item.insertBefore(link, item.firstChild);
      });
    });
  }
  nameErrors(document);
  document.body.addEventListener('htmx:afterSwap', function (evt) { nameErrors(evt.target); });

  // After an htmx swap, move focus into the new content for keyboard users.
  // The event is dispatched on the new content (also for outerHTML swaps).
  document.body.addEventListener('htmx:afterSwap', function (evt) {
    var root = evt.target;
    if (!root || !root.isConnected || !root.querySelector) return;
    // a refused form: its first field in error; else what the new content asks to focus
    var sel = '[autofocus], [data-focus]';
    var el = root.querySelector('[aria-invalid="true"]') || (root.matches(sel) ? root : root.querySelector(sel));
    if (!el) return;
    if (!el.hasAttribute('tabindex') && el.tabIndex < 0) el.setAttribute('tabindex', '-1');
    el.focus();
  });
})();
