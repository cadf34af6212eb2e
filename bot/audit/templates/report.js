// Sorting and filtering of the members table; no network, no libraries.
(() => {
  const table = document.getElementById("members");
  const body = table.tBodies[0];
  const rows = Array.from(body.rows);
  const filter = document.getElementById("filter");
  const show = document.getElementById("show");
  const count = document.getElementById("count");

  function apply() {
    const words = filter.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
    const kind = show.value;
    let shown = 0;
    for (const row of rows) {
      const text = row.dataset.text;
      const visible =
        words.every((w) => text.includes(w)) &&
        (kind === "all" || row.dataset.kinds.split(" ").includes(kind));
      row.hidden = !visible;
      shown += visible ? 1 : 0;
    }
    count.textContent = `${shown} of ${rows.length} shown`;
  }

  function sortBy(button) {
    const th = button.closest("th");
    const col = th.cellIndex;
    const ascending = th.getAttribute("aria-sort") !== "ascending";
    for (const other of table.tHead.rows[0].cells) other.removeAttribute("aria-sort");
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    const numeric = button.dataset.type === "number";
    const key = (row) => row.cells[col].dataset.v ?? row.cells[col].textContent.trim();
    rows.sort((a, b) => {
      const x = key(a);
      const y = key(b);
      const order = numeric ? Number(x) - Number(y) : x.localeCompare(y);
      return ascending ? order : -order;
    });
    body.append(...rows);
  }

  for (const button of table.tHead.querySelectorAll("button")) {
    button.addEventListener("click", () => sortBy(button));
  }
  filter.addEventListener("input", apply);
  show.addEventListener("change", apply);
  apply();
})();
