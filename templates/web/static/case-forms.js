// The case page's forms, made quicker where a browser runs script; each works without it (templates/web/case_steps.html):
// - a correction's value takes the control of the field chosen (a date and time, yes or no, a list, text), which
//   without script the "Choose" button asks the server for;
// - the supervisor chosen from the federal personnel recorded fills their name, agency and badge ("Fill in");
// - a subject's overall immunity finding follows the two prongs as they are chosen (the server derives it too).
(function () {
  "use strict";
  if (window.caseFormsReady) {
    return; // (the page includes this once per form that uses it)
  }
  window.caseFormsReady = true;

  function ready(run) {
    if (document.readyState === "loading") {
      document.addEventListener("DOMContentLoaded", run);
    } else {
      run();
    }
  }

  // A correction's row: the template of the chosen field's control, renamed to the row.
  function swapControl(select) {
    var slot = document.getElementById(select.getAttribute("data-correction-slot"));
    var option = select.options[select.selectedIndex];
    var control = (option && option.getAttribute("data-control")) || "text";
    if (!slot || slot.getAttribute("data-control") === control) {
      return;
    }
    var template = document.getElementById("correction-control-" + control);
    if (!template) {
      return;
    }
    var row = select.name.replace(/\.field$/, ""); // corrections[0]
    var rowId = row.replace(/\[/g, "-").replace(/\]/g, ""); // corrections-0
    var token = "__row-" + control + "__"; // (each template's own, so that no id is given twice)
    slot.innerHTML = template.innerHTML.split('name="' + token).join('name="' + row).split(token).join(rowId);
    slot.setAttribute("data-control", control);
  }

  // The supervisor form: the chosen person's details in their fields.
  function fill(select) {
    var form = select.form;
    var option = select.options[select.selectedIndex];
    if (!form || !option || !option.value) {
      return;
    }
    (select.getAttribute("data-fills") || "").split(" ").forEach(function (key) {
      var value = option.getAttribute("data-" + key) || "";
      var field = form.elements.namedItem(key);
      if (!field) {
        return;
      }
      if (field.tagName === "SELECT") {
        var listed = Array.prototype.some.call(field.options, function (o) { return o.value === value; });
        var other = form.elements.namedItem(key + "_other");
        if (listed || !value) {
          field.value = value;
        } else if (other) { // an agency not in the list: "another", named beside it
          field.value = "_other";
          other.value = value;
        }
        field.dispatchEvent(new Event("change", { bubbles: true }));
      } else {
        field.value = value;
      }
    });
  }

  // A subject's overall finding, as the prongs determine it.
  function follow(fieldset) {
    var output = fieldset.querySelector("output[data-findings]");
    var authority = fieldset.querySelector('select[name$=".authority.finding"]');
    var necessary = fieldset.querySelector('select[name$=".necessary_and_proper.finding"]');
    if (!output || !authority || !necessary) {
      return;
    }
    var table = JSON.parse(output.getAttribute("data-findings"));
    var said = table[authority.value + "|" + necessary.value] || "follows from the two prongs";
    var strong = document.createElement("strong");
    strong.textContent = said;
    output.replaceChildren(strong);
  }

  ready(function () {
    Array.prototype.forEach.call(document.querySelectorAll(".no-script"), function (element) {
      element.hidden = true;
    });
    document.addEventListener("change", function (event) {
      var target = event.target;
      if (!(target instanceof HTMLSelectElement)) {
        return;
      }
      if (target.hasAttribute("data-correction-slot")) {
        swapControl(target);
      } else if (target.hasAttribute("data-fills")) {
        fill(target);
      } else if (/\.(authority|necessary_and_proper)\.finding$/.test(target.name)) {
        var fieldset = target.closest("fieldset.subject");
        if (fieldset) {
          follow(fieldset);
        }
      }
    });
  });
})();
