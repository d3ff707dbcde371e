// Show the doctor's fields only when "Doctor" is chosen; without this script they stay visible, labelled "Doctors only".
(function () {
  "use strict";

  var role = document.getElementById("role");
  var fields = document.getElementById("doctor-fields");
  if (!role || !fields) { return; }
  // A field with an error stays in view whatever the role, so the message is never hidden.
  function update() { fields.hidden = role.value !== "doctor" && !fields.querySelector(".field-error"); }
  role.addEventListener("change", update);
  update();
}());
