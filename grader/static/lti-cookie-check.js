// Inside the LMS's frame: can this page keep a cookie? Then go on with the login here; else ask to open
// Gradgate in a new window (first-party cookies there). Without JavaScript, the page offers both links.
document.addEventListener("DOMContentLoaded", () => {
  const box = document.querySelector(".lti-cookie-check");
  if (!box) return;
  document.cookie = "gg_cookie_check=1; path=/; SameSite=None; Secure; max-age=60";
  if (document.cookie.includes("gg_cookie_check=1")) {
    window.location.replace(box.dataset.continue);
    return;
  }
  box.querySelector(".lti-blocked").hidden = false;
  box.querySelector(".lti-continue").hidden = true;
});
