// The payout batches page (/batches): a "select all" box over the ready claims' checkboxes.
// Without the script the box stays hidden and each claim is ticked on its own.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var all = document.getElementById("pick-all");
    if (!all) { return; }
    var boxes = document.querySelectorAll('#ready-list input[name="claim_numbers"]');
    function sync() {
      var ticked = 0;
      boxes.forEach(function (b) { if (b.checked) { ticked += 1; } });
      all.checked = ticked > 0 && ticked === boxes.length;
      all.indeterminate = ticked > 0 && ticked < boxes.length;
    }
    all.hidden = false;
    all.addEventListener("change", function () {
      boxes.forEach(function (b) { b.checked = all.checked; });
    });
    boxes.forEach(function (b) { b.addEventListener("change", sync); });
    sync();
  });
})();
