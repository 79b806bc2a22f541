// Filters the side navigation's operations as the reader types; nothing else on the page needs script.
(function () {
  var box = document.getElementById("filter");
  if (!box) { return; }
  box.addEventListener("input", function () {
    var wanted = box.value.toLowerCase();
    var items = document.querySelectorAll("nav.side li[data-filter]");
    for (var i = 0; i < items.length; i++) {
      var hit = items[i].getAttribute("data-filter").indexOf(wanted) !== -1;
      items[i].classList.toggle("hidden", !hit);
    }
  });
})();
