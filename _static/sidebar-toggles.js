// Make the visible sidebar buttons work, on a phone and on a desktop.
//
// pydata-sphinx-theme 0.17 (which sphinx-book-theme 1.3 requires) adds its
// own sidebar buttons to the page header, which sphinx-book-theme hides, and
// both themes attach their click handlers to the FIRST `.primary-toggle` and
// `.secondary-toggle` in the page: the hidden ones. The buttons a reader
// sees do nothing, so on a phone the table of contents cannot be opened
// (pydata-sphinx-theme issue 2451). This forwards a click on any other
// toggle to the first one, which opens the sidebar as a drawer on a narrow
// screen and shows or hides it on a wide one. tests/site/test_site.py opens the
// table of contents on a 390 px wide screen. Jupyter Book adds every .js
// file in _static/ to each page.
document.addEventListener("DOMContentLoaded", () => {
  for (const kind of ["primary", "secondary"]) {
    const [bound, ...others] = document.querySelectorAll(`.${kind}-toggle`);
    for (const toggle of others) {
      toggle.addEventListener("click", (event) => {
        event.preventDefault();
        event.stopPropagation();
        bound.click();
      });
    }
  }
});
