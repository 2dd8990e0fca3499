// Buttons and forms with data-confirm="question" ask before they submit (closing or deleting a study).
// A static file rather than inline onsubmit=, so a strict Content-Security-Policy needs no exception.
document.addEventListener("submit", (event) => {
  const form = event.target;
  const ask = (event.submitter && event.submitter.dataset.confirm) || form.dataset.confirm;
  if (ask && !window.confirm(ask)) event.preventDefault();
});
