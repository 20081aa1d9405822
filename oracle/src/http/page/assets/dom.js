/* DOM building for the page: texts always go in as text nodes, never as HTML. */

export function $(id) {
  return document.getElementById(id);
}

/** el("td", {class: "x", dataset: {label: "Stake"}}, "text", childNode …) */
export function el(tag, attrs) {
  var node = document.createElement(tag);
  if (attrs) {
    Object.keys(attrs).forEach(function (key) {
      var value = attrs[key];
      if (value === undefined || value === null || value === false) return;
      if (key === "dataset") Object.assign(node.dataset, value);
      else if (key === "text") node.textContent = value;
      else node.setAttribute(key, value === true ? "" : String(value));
    });
  }
  for (var i = 2; i < arguments.length; i++) append(node, arguments[i]);
  return node;
}

function append(parent, child) {
  if (child === undefined || child === null || child === false) return;
  if (Array.isArray(child)) child.forEach(function (c) { append(parent, c); });
  else parent.appendChild(typeof child === "string" || typeof child === "number" ? document.createTextNode(String(child)) : child);
}

export function svg(tag, attrs) {
  var node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  Object.keys(attrs || {}).forEach(function (key) {
    if (key === "text") node.textContent = attrs[key];
    else node.setAttribute(key, String(attrs[key]));
  });
  for (var i = 2; i < arguments.length; i++) if (arguments[i]) node.appendChild(arguments[i]);
  return node;
}

export function replace(container, content) {
  container.replaceChildren();
  append(container, content);
}

export function empty(message) {
  return el("p", { class: "empty" }, message);
}

export function errorBox(what, error) {
  return el("p", { class: "error", role: "alert" }, "Could not load " + what + ": " + error.message);
}

export function code(text, title) {
  return el("code", { title: title || text }, text);
}

export function table(columns, rows, options) {
  options = options || {};
  var head = el("tr", null, columns.map(function (c) { return el("th", { scope: "col" }, c); }));
  var body = rows.map(function (row) {
    var tr = el("tr", row.attrs || null);
    row.cells.forEach(function (cell, i) {
      tr.appendChild(el("td", { dataset: { label: columns[i] } }, el("div", { class: "cell" }, cell)));
    });
    return tr;
  });
  return el("div", { class: "table-wrap" }, el("table", { class: "stack " + (options.class || "") }, el("thead", null, head), el("tbody", null, body)));
}

export function card(label, value, note) {
  return el("div", { class: "card" }, el("div", { class: "card-label" }, label), el("div", { class: "card-value" }, value), note ? el("div", { class: "card-note" }, note) : null);
}
