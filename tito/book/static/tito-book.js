// The site's own script, over sphinx-book-theme: accessibility fixes. `tito book build` copies
// this file into the site's _static/.
(() => {
  "use strict";

  // sphinx-book-theme blurs these buttons when clicked, so that a mouse leaves no ring behind; a
  // keyboard user then loses focus to the page (Enter on ☰, or on the colour-mode menu, and Tab
  // starts again from the top). A click from the keyboard (event.detail 0) keeps its focus: for
  // that click the button's blur() does nothing. This listener, on the document and capturing,
  // runs before the theme's own on the button.
  const BLURRED = ".theme-switch-button, .search-button, .primary-toggle, .secondary-toggle";
  document.addEventListener("click", (event) => {
    const button = event.detail === 0 && event.target.closest && event.target.closest(BLURRED);
    if (!button) return;
    button.blur = () => {};
    setTimeout(() => delete button.blur);
  }, true);

  // ☰ says whether the sidebar it toggles is open: on a wide window the theme hides the sidebar
  // with a class; on a narrow one it opens it as a modal dialog.
  const WIDE = window.matchMedia("(min-width: 992px)");
  const expanded = (sidebar, modal) =>
    WIDE.matches ? !sidebar.classList.contains("pst-sidebar-hidden") : modal.open;

  const followSidebar = () => {
    const toggle = document.querySelector(".primary-toggle");
    const sidebar = document.getElementById("pst-primary-sidebar");
    const modal = document.getElementById("pst-primary-sidebar-modal");
    if (!toggle || !sidebar || !modal) return;
    const update = () => toggle.setAttribute("aria-expanded", String(expanded(sidebar, modal)));
    const watch = { attributes: true, attributeFilter: ["class", "open"] };
    new MutationObserver(update).observe(sidebar, watch);
    new MutationObserver(update).observe(modal, watch);
    WIDE.addEventListener("change", update);
    update();
  };

  // The header's links that open a new tab (the theme's GitHub button) say so to a screen reader.
  // (Bootstrap's tooltip may already have moved their title into aria-label.)
  const sayNewTab = () => {
    for (const link of document.querySelectorAll('.bd-header-article a[target="_blank"]')) {
      const name = link.getAttribute("aria-label") || link.title || link.textContent.trim();
      link.setAttribute("aria-label", `${name} (opens in a new tab)`);
    }
  };

  const onReady = (run) => document.readyState === "loading"
    ? document.addEventListener("DOMContentLoaded", run) : run();
  onReady(followSidebar);
  onReady(sayNewTab);
})();
