// il2sim serve: the only script. Shows the override fields only when "Override" is chosen.
document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("decision-form");
  if (!form) { return; }
  var fields = form.querySelector(".override-fields");
  function sync() {
    var over = form.querySelector("input[name=action][value=override]").checked;
    fields.classList.toggle("hidden", !over);
  }
  form.addEventListener("change", sync);
  sync();
});
