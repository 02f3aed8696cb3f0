// Posts the deep-linking answer back to the LMS at once (without JavaScript, its button does).
document.addEventListener("DOMContentLoaded", () => {
  const form = document.querySelector("form.lti-autosubmit");
  if (form) form.submit();
});
