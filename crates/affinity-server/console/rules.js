// The audience rule builder: edits a rule of the issue-5 model (all/any/not groups, interaction leaves with
// parameter and item conditions, windows, measures, audience references) and gives its JSON. Operators follow the
// type of what they test, as the server's checker does; the server still checks every rule it is sent.
"use strict";

const OPS = {
  text: ["eq", "neq", "in", "not_in", "contains", "not_contains", "starts_with", "is_set", "is_not_set"],
  number: ["eq", "neq", "gt", "gte", "lt", "lte", "between", "in", "is_set", "is_not_set"],
  date: ["before", "after", "on", "between", "within_last", "more_than_ago", "is_set"],
  boolean: ["is_true", "is_false", "is_set"],
  item: ["in", "not_in", "is_set"],
};
const NO_VALUE = ["is_set", "is_not_set", "is_true", "is_false"];
const UNITS = ["minute", "hour", "day", "week", "month"];
const AGGS = ["count", "distinct_items", "distinct_days", "sum", "avg", "min", "max", "first_at", "last_at"];
const CMPS = ["gte", "gt", "eq", "neq", "lt", "lte", "between"];
const ITEM_ATTRS = [["category", "text"], ["title", "text"], ["price", "number"], ["available", "boolean"], ["id", "text"]];

function select(options, value, onchange, label) {
  const s = h("select", { onchange: (e) => onchange(e.target.value), "aria-label": label });
  for (const o of options) {
    const [v, text] = Array.isArray(o) ? o : [o, o.replaceAll("_", " ")];
    s.append(h("option", { value: v, selected: v === value }, text));
  }
  return s;
}

function input(value, oninput, label, type) {
  return h("input", { value: value ?? "", type: type || "text", "aria-label": label, oninput: (e) => oninput(e.target.value) });
}

/** A value for `op` on a `kind` value: the JSON the checker expects, from the editor's strings. */
function valueOf(kind, op, c) {
  if (NO_VALUE.includes(op)) return undefined;
  const num = (s) => (s === "" || isNaN(Number(s)) ? s : Number(s));
  const one = (s) => (kind === "number" ? num(s) : s);
  if (op === "in" || op === "not_in") return String(c.value ?? "").split(",").map((s) => one(s.trim())).filter((s) => s !== "");
  if (op === "between") return [one(c.value ?? ""), one(c.value2 ?? "")];
  if (op === "within_last" || op === "more_than_ago") return { n: Number(c.value || 1), unit: c.unit || "day" };
  return one(c.value ?? "");
}

/** The editor of one condition's operator and value(s). */
function conditionEditor(kind, c, changed) {
  const wrap = h("span", { class: "row" });
  const draw = () => {
    const ops = OPS[kind] || OPS.text;
    if (!ops.includes(c.op)) c.op = ops[0];
    const parts = [select(ops, c.op, (v) => { c.op = v; draw(); changed(); }, "operator")];
    if (c.op === "between") {
      parts.push(input(c.value, (v) => { c.value = v; changed(); }, "from", kind === "date" ? "date" : "text"),
        input(c.value2, (v) => { c.value2 = v; changed(); }, "to", kind === "date" ? "date" : "text"));
    } else if (c.op === "within_last" || c.op === "more_than_ago") {
      parts.push(input(c.value || "1", (v) => { c.value = v; changed(); }, "how many", "number"),
        select(UNITS, c.unit || "day", (v) => { c.unit = v; changed(); }, "unit"));
    } else if (!NO_VALUE.includes(c.op)) {
      const type = kind === "date" ? "date" : kind === "number" && c.op !== "in" ? "number" : "text";
      const hint = c.op === "in" || c.op === "not_in" ? "values, comma-separated" : "value";
      parts.push(input(c.value, (v) => { c.value = v; changed(); }, hint, type));
    }
    wrap.replaceChildren(...parts);
  };
  draw();
  return wrap;
}

class RuleBuilder {
  /** `types`: the project's interaction types (GET …/interactions); `audiences`: saved audience ids; `targeting`:
   * also offer context, time and session conditions (experiences, issue 8). */
  constructor(types, audiences, onchange, targeting) {
    this.types = types.filter((t) => !t.archived);
    this.audiences = audiences;
    this.onchange = onchange;
    this.targeting = !!targeting;
    this.root = { kind: "all", children: [this.newLeaf()] };
    this.el = h("div", { class: "builder" });
    this.draw();
  }

  newLeaf() {
    return { kind: "interaction", interaction: this.types[0] ? this.types[0].id : "view", where: [], item: [],
      window: { type: "none", n: "30", unit: "day" }, measure: { agg: "count", param: "value" }, cmp: { op: "gte", value: "1" } };
  }

  changed() { this.onchange(this.json()); }
  draw() { this.el.replaceChildren(this.node(this.root, null)); this.changed(); }

  node(n, parent) {
    if (n.kind === "all" || n.kind === "any" || n.kind === "not") return this.group(n, parent);
    return this.leaf(n, parent);
  }

  remove(n, parent) {
    if (!parent) return;
    parent.children = parent.children.filter((c) => c !== n);
    this.draw();
  }

  group(g, parent) {
    const kinds = [["all", "all of"], ["any", "any of"], ["not", "not"]];
    const head = h("div", { class: "row" },
      select(kinds, g.kind, (v) => { g.kind = v; if (v === "not") g.children = g.children.slice(0, 1); this.draw(); }, "group"),
      h("button", { type: "button", class: "secondary", disabled: g.kind === "not" && g.children.length >= 1,
        onclick: () => { g.children.push(this.newLeaf()); this.draw(); } }, "Add condition"),
      h("button", { type: "button", class: "secondary", disabled: g.kind === "not" && g.children.length >= 1,
        onclick: () => { g.children.push({ kind: "any", children: [this.newLeaf()] }); this.draw(); } }, "Add group"),
      h("button", { type: "button", class: "secondary", disabled: g.kind === "not" && g.children.length >= 1,
        onclick: () => { g.children.push({ kind: "audience", audience: this.audiences[0] || "" }); this.draw(); } }, "Add audience"),
      this.targeting && h("button", { type: "button", class: "secondary", disabled: g.kind === "not" && g.children.length >= 1,
        onclick: () => { g.children.push({ kind: "context", attr: "device", vtype: "text", op: "eq", value: "mobile" }); this.draw(); } }, "Add context condition"),
      this.targeting && h("button", { type: "button", class: "secondary", disabled: g.kind === "not" && g.children.length >= 1,
        onclick: () => { g.children.push({ kind: "time", what: "day_of_week", op: "in", value: "sat,sun" }); this.draw(); } }, "Add time condition"),
      this.targeting && h("button", { type: "button", class: "secondary", disabled: g.kind === "not" && g.children.length >= 1,
        onclick: () => { g.children.push(Object.assign(this.newLeaf(), { kind: "session" })); this.draw(); } }, "Add session condition"),
      parent && h("button", { type: "button", class: "danger", onclick: () => this.remove(g, parent) }, "Remove group"));
    return h("div", { class: "group" }, head, ...g.children.map((c) => this.node(c, g)));
  }

  leaf(l, parent) {
    const removeButton = h("button", { type: "button", class: "danger", onclick: () => this.remove(l, parent) }, "Remove");
    if (l.kind === "context") {
      return h("div", { class: "leaf" }, h("div", { class: "row" }, "context",
        input(l.attr, (v) => { l.attr = v; this.changed(); }, "context attribute"),
        select([["text", "text"], ["number", "number"], ["boolean", "yes/no"]], l.vtype, (v) => { l.vtype = v; this.draw(); }, "attribute type"),
        conditionEditor(l.vtype, l, () => this.changed()), removeButton));
    }
    if (l.kind === "time") {
      const ops = { date: ["before", "after", "on", "between"], day_of_week: ["in", "not_in"], time_of_day: ["between", "not_between", "before", "after"] }[l.what];
      if (!ops.includes(l.op)) l.op = ops[0];
      const type = l.what === "date" ? "date" : l.what === "time_of_day" ? "time" : "text";
      const hint = l.what === "day_of_week" ? "days: mon,tue,… sun" : "value";
      return h("div", { class: "leaf" }, h("div", { class: "row" }, "time",
        select([["day_of_week", "day of the week"], ["time_of_day", "time of day"], ["date", "date"]], l.what, (v) => { l.what = v; l.value = ""; this.draw(); }, "time"),
        select(ops, l.op, (v) => { l.op = v; this.draw(); }, "time operator"),
        input(l.value, (v) => { l.value = v; this.changed(); }, hint, type),
        (l.op === "between" || l.op === "not_between") && input(l.value2, (v) => { l.value2 = v; this.changed(); }, "to", type),
        removeButton));
    }
    if (l.kind === "audience") {
      return h("div", { class: "leaf" }, h("div", { class: "row" }, "in audience",
        select(this.audiences.length ? this.audiences : [l.audience], l.audience, (v) => { l.audience = v; this.changed(); }, "audience"),
        removeButton));
    }
    const type = this.types.find((t) => t.id === l.interaction) || { parameters: [] };
    const numberParams = type.parameters.filter((p) => p.type === "number").map((p) => p.id);
    const sums = (["cart", "purchase"].includes(l.interaction) ? ["value"] : []).concat(numberParams);
    const where = h("div", {}, ...l.where.map((c, i) => {
      const p = type.parameters.find((q) => q.id === c.param) || type.parameters[0];
      if (p) c.param = p.id;
      return h("div", { class: "row" }, "where",
        select(type.parameters.map((q) => [q.id, `${q.id} (${q.type === "boolean" ? "yes/no" : q.type})`]), c.param,
          (v) => { c.param = v; this.draw(); }, "parameter"),
        conditionEditor(p ? p.type : "text", c, () => this.changed()),
        h("button", { type: "button", class: "danger", onclick: () => { l.where.splice(i, 1); this.draw(); } }, "×"));
    }));
    const items = h("div", {}, ...l.item.map((c, i) => {
      const known = ITEM_ATTRS.find(([a]) => a === c.attr);
      const kind = known ? known[1] : c.kind || "text";
      return h("div", { class: "row" }, "item",
        select(ITEM_ATTRS.map(([a]) => a).concat(["property"]), known ? c.attr : "property", (v) => {
          c.attr = v === "property" ? "brand" : v; this.draw(); }, "item attribute"),
        !known && input(c.attr, (v) => { c.attr = v; this.changed(); }, "property name"),
        !known && select([["text", "text"], ["number", "number"], ["boolean", "yes/no"]], kind, (v) => { c.kind = v; this.draw(); }, "property type"),
        conditionEditor(kind, c, () => this.changed()),
        h("button", { type: "button", class: "danger", onclick: () => { l.item.splice(i, 1); this.draw(); } }, "×"));
    }));
    const w = l.window;
    const windowEditor = h("span", { class: "row" },
      select([["none", "all time"], ["last", "in the last"], ["since", "since"], ["between", "between"]], w.type,
        (v) => { w.type = v; this.draw(); }, "window"),
      w.type === "last" && input(w.n, (v) => { w.n = v; this.changed(); }, "how many", "number"),
      w.type === "last" && select(UNITS, w.unit, (v) => { w.unit = v; this.changed(); }, "window unit"),
      w.type === "since" && input(w.since, (v) => { w.since = v; this.changed(); }, "since", "date"),
      w.type === "between" && input(w.from, (v) => { w.from = v; this.changed(); }, "from", "date"),
      w.type === "between" && input(w.to, (v) => { w.to = v; this.changed(); }, "to", "date"));
    const m = l.measure;
    const needsParam = ["sum", "avg", "min", "max"].includes(m.agg);
    if (needsParam && !sums.includes(m.param)) m.param = sums[0];
    const measureEditor = h("span", { class: "row" },
      select(AGGS, m.agg, (v) => { m.agg = v; this.draw(); }, "measure"),
      needsParam && select(sums.length ? sums : ["value"], m.param, (v) => { m.param = v; this.changed(); }, "of"),
      select(CMPS, l.cmp.op, (v) => { l.cmp.op = v; this.draw(); }, "comparison"),
      input(l.cmp.value, (v) => { l.cmp.value = v; this.changed(); }, "compared to", m.agg.endsWith("_at") ? "date" : "number"),
      l.cmp.op === "between" && input(l.cmp.value2, (v) => { l.cmp.value2 = v; this.changed(); }, "and", m.agg.endsWith("_at") ? "date" : "number"));
    return h("div", { class: "leaf" },
      h("div", { class: "row" }, l.kind === "session" ? "in this session, did" : "did",
        select(this.types.map((t) => [t.id, t.name]), l.interaction, (v) => { l.interaction = v; l.where = []; this.draw(); }, "interaction"),
        l.kind !== "session" && windowEditor, removeButton),
      where, items,
      h("div", { class: "row" }, measureEditor,
        h("button", { type: "button", class: "secondary", disabled: !type.parameters.length,
          onclick: () => { l.where.push({ param: type.parameters[0].id, op: "" }); this.draw(); } }, "Add parameter condition"),
        h("button", { type: "button", class: "secondary", onclick: () => { l.item.push({ attr: "category", op: "in" }); this.draw(); } }, "Add item condition")));
  }

  json(n = this.root) {
    if (n.kind === "all" || n.kind === "any") return { [n.kind]: n.children.map((c) => this.json(c)) };
    if (n.kind === "not") return { not: n.children[0] ? this.json(n.children[0]) : { all: [] } };
    if (n.kind === "audience") return { audience: n.audience };
    if (n.kind === "context") {
      const cond = { context: n.attr, op: n.op };
      const v = valueOf(n.vtype, n.op, n);
      if (v !== undefined) cond.value = v;
      return cond;
    }
    if (n.kind === "time") {
      const value = n.what === "day_of_week" ? String(n.value || "").split(",").map((d) => d.trim()).filter(Boolean)
        : n.op === "between" || n.op === "not_between" ? [n.value || "", n.value2 || ""] : n.value || "";
      return { time: n.what, op: n.op, value };
    }
    if (n.kind === "session") {
      const leaf = this.json(Object.assign({}, n, { kind: "interaction", window: { type: "none" } }));
      return { session: leaf };
    }
    const type = this.types.find((t) => t.id === n.interaction) || { parameters: [] };
    const out = { interaction: n.interaction };
    if (n.where.length) out.where = n.where.map((c) => {
      const p = type.parameters.find((q) => q.id === c.param);
      const cond = { param: c.param, op: c.op };
      const v = valueOf(p ? p.type : "text", c.op, c);
      if (v !== undefined) cond.value = v;
      return cond;
    });
    if (n.item.length) out.item = n.item.map((c) => {
      const known = ITEM_ATTRS.find(([a]) => a === c.attr);
      const cond = { attr: c.attr, op: c.op };
      const v = valueOf(known ? known[1] : c.kind || "text", c.op, c);
      if (v !== undefined) cond.value = v;
      return cond;
    });
    const w = n.window;
    if (w.type === "last") out.window = { last: { n: Number(w.n || 1), unit: w.unit } };
    if (w.type === "since") out.window = { since: w.since || "" };
    if (w.type === "between") out.window = { between: { from: w.from || "", to: w.to || "" } };
    out.measure = ["sum", "avg", "min", "max"].includes(n.measure.agg) ? { agg: n.measure.agg, param: n.measure.param } : { agg: n.measure.agg };
    const cv = (s) => (n.measure.agg.endsWith("_at") ? s || "" : Number(s || 0));
    out.cmp = { op: n.cmp.op, value: n.cmp.op === "between" ? [cv(n.cmp.value), cv(n.cmp.value2)] : cv(n.cmp.value) };
    return out;
  }
}
