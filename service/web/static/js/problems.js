// Errors are shown, never swallowed: the problem details of the service (title, detail, and
// each field at fault with its fix) in the page's alert region, one entry per source.

import { el } from "./dom.js";

const current = new Map();
let region = null;

export function mountProblems(node) {
  region = node;
}

/** Problem details of an error: the service's own, or a stand-in for a failure in the page. */
export function problemOf(error) {
  if (error && error.problem) return error.problem;
  return { title: "Something went wrong in the page", detail: String((error && error.message) || error) };
}

/** The body of a problem's display: its title (status), detail, and each field with its fix. */
export function problemParts(problem, heading = "h2") {
  return [
    el(heading, {}, problem.title || "Error", problem.status ? el("small", {}, ` (${problem.status})`) : null),
    problem.detail ? el("p", {}, problem.detail) : null,
    problem.errors && problem.errors.length
      ? el(
          "ul",
          {},
          problem.errors.map((e) =>
            el("li", {}, el("code", {}, e.field), ": ", e.message, e.fix ? el("span", { class: "fix" }, ` — ${e.fix}`) : null),
          ),
        )
      : null,
  ];
}

function render() {
  region.replaceChildren(
    ...[...current.entries()].map(([source, problem]) =>
      el(
        "section",
        { class: "problem", dataset: { source }, "aria-label": problem.title || "Error" },
        problemParts(problem),
        el("button", { type: "button", class: "quiet", onclick: () => clearProblem(source) }, "Dismiss"),
      ),
    ),
  );
}

/** Show the problem of `error`, from `source` (replacing that source's last one). */
export function showProblem(source, error) {
  current.set(source, problemOf(error));
  render();
}

export function clearProblem(source) {
  if (current.delete(source)) render();
}
