/* Attest page behaviour: formset rows, drag and drop, and uploads with a progress bar.
   Everything works without this file; it only makes forms kinder. */
(function () {
  "use strict";

  function addFormsetRow(prefix) {
    var total = document.getElementById("id_" + prefix + "-TOTAL_FORMS");
    var template = document.querySelector('template[data-empty-row="' + prefix + '"]');
    var body = document.querySelector('[data-formset="' + prefix + '"] tbody');
    if (!total || !template || !body) return;
    var index = parseInt(total.value, 10);
    var html = template.innerHTML
      .replace(/__prefix__/g, String(index))
      .replace(/__number__/g, String(index + 1));
    body.insertAdjacentHTML("beforeend", html);
    total.value = String(index + 1);
    var first = body.lastElementChild.querySelector("input");
    if (first) first.focus();
  }

  function describeFiles(input, list) {
    list.innerHTML = "";
    Array.prototype.forEach.call(input.files, function (f) {
      var li = document.createElement("li");
      li.textContent = f.name + " (" + Math.max(1, Math.round(f.size / 1024)) + " KB)";
      list.appendChild(li);
    });
  }

  function setUpDropzone(zone) {
    var input = zone.querySelector('input[type="file"]');
    var list = zone.querySelector("[data-file-list]");
    if (!input) return;
    input.addEventListener("change", function () { describeFiles(input, list); });
    ["dragenter", "dragover"].forEach(function (name) {
      zone.addEventListener(name, function (e) { e.preventDefault(); zone.classList.add("dragover"); });
    });
    ["dragleave", "drop"].forEach(function (name) {
      zone.addEventListener(name, function (e) { e.preventDefault(); zone.classList.remove("dragover"); });
    });
    zone.addEventListener("drop", function (e) {
      if (!e.dataTransfer || !e.dataTransfer.files.length) return;
      var transfer = new DataTransfer();
      Array.prototype.forEach.call(input.files, function (f) { transfer.items.add(f); });
      Array.prototype.forEach.call(e.dataTransfer.files, function (f) { transfer.items.add(f); });
      input.files = transfer.files;
      describeFiles(input, list);
    });
  }

  /* Mark the control behind an error block invalid (or valid again) for assistive tech. */
  function markField(form, box, invalid) {
    var holder = box.dataset.field === "files"
      ? form.querySelector("[data-dropzone]") : box.closest("td, .field");
    if (holder) holder.classList.toggle("has-error", invalid);
    var control = form.elements.namedItem(box.dataset.field);
    if (!control || !control.setAttribute || !box.id) return;
    var ids = (control.getAttribute("aria-describedby") || "").split(/\s+/).filter(function (id) {
      return id && id !== box.id;
    });
    if (invalid) { ids.push(box.id); control.setAttribute("aria-invalid", "true"); }
    else { control.removeAttribute("aria-invalid"); }
    if (ids.length) control.setAttribute("aria-describedby", ids.join(" "));
    else control.removeAttribute("aria-describedby");
  }

  /* Errors come back as a whole page; copy its error blocks into the live form so that
     everything the user entered, the chosen files included, stays where it is. */
  function showErrors(form, html) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    var fresh = doc.querySelector("[data-upload-form]");
    if (!fresh) { document.open(); document.write(html); document.close(); return; }
    var unplaced = [];
    form.querySelectorAll(".field-errors[data-field]").forEach(function (el) {
      el.innerHTML = "";
      markField(form, el, false);
    });
    fresh.querySelectorAll(".field-errors[data-field]").forEach(function (el) {
      if (!el.querySelector(".error")) return;
      var target = form.querySelector('.field-errors[data-field="' + el.dataset.field + '"]');
      if (target) { target.innerHTML = el.innerHTML; markField(form, target, true); }
      else unplaced.push(el.innerHTML);
    });
    var freshTop = fresh.querySelector(".form-errors");
    var top = form.querySelector(".form-errors");
    if (top) {
      top.innerHTML = freshTop ? freshTop.innerHTML : "";
      if (unplaced.length) {  // an error for a field this page does not show: never lose it
        top.insertAdjacentHTML("beforeend", '<div class="alert alert-error" role="alert">' +
          unplaced.join("") + "</div>");
      }
    }
    var firstError = form.querySelector(".error, .alert-error");
    if (firstError) firstError.scrollIntoView({ block: "center" });
  }

  function setUpUpload(form) {
    var bar = form.querySelector("[data-progress]");
    var meter = bar && bar.querySelector("progress");
    var text = bar && bar.querySelector("[data-progress-text]");
    var submit = form.querySelector('button[type="submit"]');
    form.addEventListener("submit", function (e) {
      if (!window.FormData || !window.XMLHttpRequest) return;
      e.preventDefault();
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action || window.location.href);
      xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
      if (bar) { bar.hidden = false; meter.value = 0; text.textContent = "0%"; }
      if (submit) submit.disabled = true;
      xhr.upload.addEventListener("progress", function (ev) {
        if (!ev.lengthComputable || !meter) return;
        var pct = Math.round((ev.loaded / ev.total) * 100);
        meter.value = pct;
        text.textContent = pct < 100 ? pct + "%" : "Stored, checking…";
      });
      xhr.addEventListener("load", function () {
        if (submit) submit.disabled = false;
        var redirect = xhr.getResponseHeader("X-Redirect");
        if (xhr.status < 300 && redirect) { window.location.assign(redirect); return; }
        if (bar) bar.hidden = true;
        showErrors(form, xhr.responseText);
      });
      xhr.addEventListener("error", function () {
        if (submit) submit.disabled = false;
        if (bar) { text.textContent = "The connection failed; nothing was saved. Try again."; }
      });
      xhr.send(new FormData(form));
    });
  }

  document.addEventListener("click", function (e) {
    var button = e.target.closest("[data-add-row]");
    if (button) { e.preventDefault(); addFormsetRow(button.dataset.addRow); }
  });

  /* A secret shown once (a new token, a webhook secret) is selected when focused, ready to
     copy. (No inline handlers: the Content-Security-Policy allows none.) */
  document.addEventListener("focusin", function (e) {
    if (e.target.matches && e.target.matches("[data-select-on-focus]")) e.target.select();
  });

  document.addEventListener("DOMContentLoaded", function () {
    // autofocus may have focused it before this script ran
    var focused = document.activeElement;
    if (focused && focused.matches && focused.matches("[data-select-on-focus]")) focused.select();
    document.querySelectorAll("[data-dropzone]").forEach(setUpDropzone);
    document.querySelectorAll("[data-upload-form]").forEach(setUpUpload);
  });
})();
