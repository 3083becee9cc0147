// The console's pages. Each returns its DOM; all data comes from the public API through `api`.
"use strict";

const TYPE_NAMES = { text: "text", number: "number", date: "date", boolean: "yes/no", item: "item" };
// Rates come as "50.00%" (the seed's report format).
const pct = (x) => (x === undefined || x === null ? "–" : typeof x === "string" ? x : `${Number(x).toFixed(1)} %`);

pages.interactions = async () => {
  const { data } = await api("GET", "/interactions");
  const rows = data.interactions.map((t) => h("tr", {},
    h("td", {}, h("code", {}, t.id)), h("td", {}, t.name), h("td", {}, t.builtin ? "built-in" : t.archived ? "archived" : "custom"),
    h("td", {}, t.parameters.map((p) => `${p.id}: ${TYPE_NAMES[p.type] || p.type}${p.required ? " (required)" : ""}`).join(", ") || "–"),
    h("td", {}, String(t.events)),
    h("td", {}, !t.builtin && !t.archived && h("button", { class: "danger", onclick: async () => {
      const r = await api("DELETE", `/interactions/${encodeURIComponent(t.id)}`);
      if (r.status >= 400) alert(problem(r.data)); else route();
    } }, `Archive ${t.id}`))));
  const name = field("Name", h("input", { name: "name", placeholder: "Applied for a loan" }));
  const id = field("Id", h("input", { name: "id", placeholder: "loan_application" }));
  const params = h("div", {});
  const addParam = () => {
    const pid = field("Parameter id", h("input", { name: "param-id" }));
    const ptype = field("Type", select(Object.entries(TYPE_NAMES), "text", () => {}, "parameter type"));
    const req = h("input", { type: "checkbox", name: "param-required" });
    const row = h("div", { class: "row param" }, pid.wrap, ptype.wrap,
      h("label", {}, req, " required"), h("button", { type: "button", class: "danger", onclick: () => row.remove() }, "Remove parameter"));
    row.read = () => ({ id: pid.input.value.trim(), type: ptype.input.value, required: req.checked });
    row.errors = { id: pid.error };
    params.append(row);
  };
  const formError = h("p", { class: "error", role: "alert" });
  const form = h("form", { class: "card", onsubmit: async (e) => {
    e.preventDefault();
    for (const el of form.querySelectorAll(".error")) el.textContent = "";
    const body = { id: id.input.value.trim(), name: name.input.value.trim(), parameters: [...params.children].map((r) => r.read()) };
    const { status, data: d } = await api("POST", "/interactions", body);
    if (status === 201) { route(); return; }
    // Errors go beside the field they concern: `id`, `name`, `parameters[2].id`…
    const f = d && d.error && d.error.field;
    const m = f && f.match(/^parameters\[(\d+)\]/);
    if (f === "id") id.error.textContent = problem(d);
    else if (f === "name") name.error.textContent = problem(d);
    else if (m && params.children[Number(m[1])]) params.children[Number(m[1])].errors.id.textContent = problem(d);
    else formError.textContent = problem(d);
  } }, h("h2", {}, "New custom interaction"), h("div", { class: "row" }, name.wrap, id.wrap), params,
  h("div", { class: "row" }, h("button", { type: "button", class: "secondary", onclick: addParam }, "Add parameter"),
    h("button", { type: "submit" }, "Create interaction")), formError);
  return h("div", {}, h("h1", {}, "Interactions"),
    h("div", { class: "table-wrap" }, h("table", {}, h("thead", {}, h("tr", {}, ...["Id", "Name", "Kind", "Parameters", "Events", ""].map((c) => h("th", {}, c)))), h("tbody", {}, rows))),
    form);
};

function reportView(info) {
  const r = info.report || {};
  const failed = (r.failed_items || []).map((f) => h("tr", {}, h("td", {}, String(f.row_number)), h("td", {}, f.user_id ?? ""),
    h("td", {}, f.item_id ?? ""), h("td", {}, f.error)));
  return h("section", { class: "card report" }, h("h2", {}, `Import ${info.id}: ${info.status}`),
    info.error && h("p", { class: "error" }, info.error),
    h("div", { class: "tiles" }, ...[["processed", r.processed], ["succeeded", r.succeeded], ["skipped", r.skipped], ["failed", r.failed]]
      .map(([k, v]) => h("div", { class: `tile ${k}` }, h("b", {}, String(v ?? 0)), k)),
    h("div", { class: "tile" }, h("b", {}, pct(r.success_rate)), "success rate"),
    h("div", { class: "tile" }, h("b", {}, pct(r.completion_rate)), "completion rate")),
    failed.length > 0 && h("div", { class: "table-wrap" }, h("table", { class: "failures" }, h("thead", {}, h("tr", {}, ...["Row", "Customer", "Item", "Error"].map((c) => h("th", {}, c)))), h("tbody", {}, failed))),
    (r.failed || 0) > 0 && h("button", { class: "secondary", onclick: () => download(`/imports/${info.id}/failures`, `${info.id}-failures.csv`) }, "Download failed rows"));
}

pages.uploads = async () => {
  const [{ data: types }, { data: list }] = await Promise.all([api("GET", "/interactions"), api("GET", "/imports")]);
  const kind = field("Interaction type", select([["", "mixed file (event column)"]].concat(types.interactions.filter((t) => !t.archived).map((t) => [t.id, t.name])), "", () => {}, "interaction type"));
  const file = field("File (CSV or JSON Lines, optionally gzip)", h("input", { type: "file", name: "file" }));
  const bar = h("progress", { max: 100, value: 0, hidden: true });
  const status = h("p", { class: "muted", role: "status" });
  const out = h("div", {});
  const form = h("form", { class: "card", onsubmit: (e) => {
    e.preventDefault();
    const f = file.input.files[0];
    if (!f) { file.error.textContent = "Choose a file."; return; }
    file.error.textContent = "";
    const q = kind.input.value ? `?interaction=${encodeURIComponent(kind.input.value)}` : "";
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `/v1/projects/${encodeURIComponent(session.project)}/imports${q}`);
    xhr.setRequestHeader("x-api-key", session.key);
    bar.hidden = false;
    xhr.upload.onprogress = (ev) => { if (ev.lengthComputable) { bar.value = (50 * ev.loaded) / ev.total; status.textContent = `Uploading… ${Math.round((100 * ev.loaded) / ev.total)} %`; } };
    xhr.onload = async () => {
      let d = null; try { d = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
      if (xhr.status >= 400) { bar.hidden = true; status.textContent = ""; out.replaceChildren(h("p", { class: "error", role: "alert" }, problem(d))); return; }
      // Then the import itself: its progress is the bytes read of the uploaded file.
      for (;;) {
        const { data: info } = await api("GET", `/imports/${d.id}`);
        bar.value = 50 + (50 * (info.progress.bytes || 0)) / Math.max(1, f.size);
        status.textContent = `Importing… ${info.progress.rows} rows`;
        if (info.status !== "running") { bar.value = 100; status.textContent = `Import ${info.status}.`; out.replaceChildren(reportView(info)); break; }
        await new Promise((res) => setTimeout(res, 300));
      }
    };
    xhr.send(f);
  } }, h("h1", {}, "Uploads"), h("div", { class: "row" }, kind.wrap, file.wrap, h("button", { type: "submit" }, "Upload")), bar, status);
  const past = list.imports.map((i) => h("tr", {}, h("td", {}, h("a", { href: "#/uploads", onclick: async (e) => {
    e.preventDefault(); const { data: info } = await api("GET", `/imports/${i.id}`); out.replaceChildren(reportView(info)); } }, i.id)),
  h("td", {}, i.interaction || "mixed"), h("td", {}, i.status), h("td", {}, String(i.report ? i.report.succeeded : "–")),
  h("td", {}, String(i.report ? i.report.failed : "–")), h("td", {}, i.created_at)));
  return h("div", {}, form, out, h("h2", {}, "Past uploads"),
    h("div", { class: "table-wrap" }, h("table", {}, h("thead", {}, h("tr", {}, ...["Import", "Type", "Status", "Succeeded", "Failed", "Created"].map((c) => h("th", {}, c)))), h("tbody", {}, past))));
};

pages.audiences = async () => {
  const [{ data: types }, { data: saved }] = await Promise.all([api("GET", "/interactions"), api("GET", "/audiences")]);
  const preview = h("div", { class: "card", role: "status", "aria-live": "polite" }, "…");
  let timer = null;
  let current = null;
  const builder = new RuleBuilder(types.interactions, saved.audiences.map((a) => a.id), (rule) => {
    current = rule;
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const { status, data } = await api("POST", "/audiences/preview", { rule });
      preview.replaceChildren(status === 200
        ? h("span", {}, h("b", { class: "size" }, String(data.size)), " customers match", data.sample.length ? `: ${data.sample.join(", ")}${data.size > data.sample.length ? "…" : ""}` : "")
        : h("span", { class: "error" }, problem(data)));
    }, 300);
  });
  const id = field("Audience id", h("input", { name: "audience-id", placeholder: "loan_2m" }));
  const name = field("Name", h("input", { name: "audience-name", placeholder: "Applied for a loan, last 2 months" }));
  const saveError = h("p", { class: "error", role: "alert" });
  const members = h("div", {});
  const showMembers = async (a) => {
    const { data } = await api("GET", `/audiences/${encodeURIComponent(a)}/members?limit=100`);
    members.replaceChildren(h("section", { class: "card" }, h("h2", {}, `Members of ${a} (${data.size})`),
      h("p", {}, data.members.join(", ") || "none"), data.next_cursor && h("p", { class: "muted" }, "First 100 shown; export the CSV for all.")));
  };
  const rows = saved.audiences.map((a) => h("tr", {}, h("td", {}, h("code", {}, a.id)), h("td", {}, a.name), h("td", { class: "size" }, String(a.size)),
    h("td", {}, h("button", { class: "secondary", onclick: () => showMembers(a.id) }, `Members of ${a.id}`), " ",
      h("button", { class: "secondary", onclick: () => download(`/audiences/${encodeURIComponent(a.id)}/members.csv`, `${a.id}.csv`) }, "CSV"), " ",
      h("button", { class: "danger", onclick: async () => { const r = await api("DELETE", `/audiences/${encodeURIComponent(a.id)}`); if (r.status >= 400) alert(problem(r.data)); else route(); } }, "Delete"))));
  return h("div", {}, h("h1", {}, "Audiences"),
    h("section", { class: "card" }, h("h2", {}, "Rule"), builder.el, h("h2", {}, "Live size"), preview,
      h("form", { onsubmit: async (e) => {
        e.preventDefault();
        const { status, data } = await api("POST", "/audiences", { id: id.input.value.trim(), name: name.input.value.trim(), rule: current });
        if (status === 201) route(); else saveError.textContent = problem(data);
      } }, h("div", { class: "row" }, id.wrap, name.wrap, h("button", { type: "submit" }, "Save audience")), saveError)),
    h("h2", {}, "Saved audiences"),
    h("div", { class: "table-wrap" }, h("table", { class: "audiences" }, h("thead", {}, h("tr", {}, ...["Id", "Name", "Size", ""].map((c) => h("th", {}, c)))), h("tbody", {}, rows))),
    members);
};

function recoTable(data) {
  if (!data || !data.items) return h("p", { class: "error" }, problem(data));
  return h("div", {}, h("p", { class: "muted" }, `model: ${data.model || "none"}${data.fallback ? ` (fallback: ${data.fallback})` : ""}`),
    h("table", { class: "recommendations" }, h("thead", {}, h("tr", {}, h("th", {}, "Item"), h("th", {}, "Score"), h("th", {}, "Why"))),
      h("tbody", {}, data.items.map((i) => h("tr", {}, h("td", {}, i.item), h("td", {}, i.score.toFixed(3)), h("td", {}, i.reason || ""))))));
}

pages.recommendations = async () => {
  const [{ data: models }, { data: popular }] = await Promise.all([api("GET", "/models"), api("GET", "/recommendations/popular?n=10")]);
  const customer = field("Customer", h("input", { name: "customer" }));
  const forCustomer = h("div", {});
  const item = field("Item", h("input", { name: "item" }));
  const forItem = h("div", {});
  const m = models.models;
  return h("div", {}, h("h1", {}, "Recommendations"),
    h("section", { class: "card" }, h("h2", {}, "Models"),
      m ? h("p", {}, `personalized: ${m.personalized.model}, trained ${m.personalized.trained_at} on ${m.personalized.events} events (${m.total_fit_ms} ms)`) : h("p", {}, "Not trained yet."),
      models.last_evaluation && h("pre", { class: "mono" }, JSON.stringify(models.last_evaluation, null, 1)),
      h("button", { class: "secondary", onclick: async () => { await api("POST", "/models/train?wait=true", {}); route(); } }, "Train now")),
    h("form", { class: "card", onsubmit: async (e) => {
      e.preventDefault();
      const c = encodeURIComponent(customer.input.value.trim());
      const [{ data: recs }, { data: hist }] = await Promise.all([api("GET", `/recommendations/users/${c}?n=10`), api("GET", `/customers/${c}/interactions?limit=10`)]);
      forCustomer.replaceChildren(h("h2", {}, "Recommended"), recoTable(recs), h("h2", {}, "Recent interactions"),
        h("table", { class: "history" }, h("tbody", {}, (hist.interactions || []).map((i) => h("tr", {}, h("td", {}, i.date), h("td", {}, i.event), h("td", {}, i.item || ""))))));
    } }, h("h2", {}, "For a customer"), h("div", { class: "row" }, customer.wrap, h("button", { type: "submit" }, "Show")), forCustomer),
    h("form", { class: "card", onsubmit: async (e) => {
      e.preventDefault();
      const i = encodeURIComponent(item.input.value.trim());
      const [{ data: similar }, { data: together }] = await Promise.all([api("GET", `/recommendations/items/${i}?kind=similar&n=10`), api("GET", `/recommendations/items/${i}?kind=bought_together&n=10`)]);
      forItem.replaceChildren(h("h2", {}, "Similar"), recoTable(similar), h("h2", {}, "Bought together"), recoTable(together));
    } }, h("h2", {}, "For an item"), h("div", { class: "row" }, item.wrap, h("button", { type: "submit" }, "Show")), forItem),
    h("section", { class: "card" }, h("h2", {}, "Popular"), recoTable(popular)));
};

const chartColors = ["#2457c5", "#e07b00", "#1e7b34", "#b3261e", "#7a3fb0", "#00838f", "#6d4c41"];

/** A stacked bar chart (SVG) of `series` ({name: [value per day]}) over `days` (YYYY-MM-DD), with its legend;
 * `unit` formats a value for the tooltips and the axis. */
function barChart(days, series, label, unit = String) {
  const names = Object.keys(series);
  const W = 900, H = 260, P = 40;
  const totals = days.map((_, d) => names.reduce((s, k) => s + series[k][d], 0));
  const max = Math.max(1, ...totals);
  const bw = (W - 2 * P) / Math.max(1, days.length);
  const svgEl = (tag, attrs) => {
    const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
    Object.entries(attrs).forEach(([a, b]) => el.setAttribute(a, b));
    return el;
  };
  const svg = svgEl("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img", "aria-label": label });
  days.forEach((day, d) => {
    let y = H - P;
    names.forEach((k, i) => {
      const v = series[k][d];
      const hgt = ((H - 2 * P) * v) / max;
      const r = svgEl("rect", { x: P + d * bw + 1, y: y - hgt, width: Math.max(1, bw - 2), height: hgt, fill: chartColors[i % chartColors.length] });
      const t = svgEl("title", {});
      t.textContent = `${day} ${k}: ${unit(v)}`;
      r.append(t);
      svg.append(r);
      y -= hgt;
    });
  });
  // Axes: the highest day's total at the top, a baseline, dates under the first, middle and last bars.
  const text = (x, y, anchor, content) => {
    const t = svgEl("text", { x, y, "text-anchor": anchor, "font-size": 12, fill: "#5b6475" });
    t.textContent = content;
    svg.append(t);
  };
  text(P - 4, P + 4, "end", unit(max));
  text(P - 4, H - P, "end", "0");
  const n = days.length;
  for (const d of [0, Math.floor(n / 2), n - 1]) if (n) text(P + d * bw + bw / 2, H - P + 16, "middle", days[d].slice(5));
  svg.append(svgEl("line", { x1: P, x2: W - P, y1: H - P, y2: H - P, stroke: "#d7dce5" }));
  const legend = h("p", { class: "legend" }, names.map((k, i) => h("span", {}, h("i", { style: `background:${chartColors[i % chartColors.length]}` }), k)));
  return { svg, legend, total: totals.reduce((a, b) => a + b, 0) };
}

pages.activity = async () => {
  const { data } = await api("GET", "/activity?days=30");
  const chart = barChart(data.days, data.series, `Events per day and interaction type, last ${data.days.length} days`);
  const live = h("b", { class: "live" }, "…");
  const tick = async () => {
    if (!document.body.contains(live)) return;
    const { data: s } = await api("GET", "/stats");
    live.textContent = String(s.events);
    setTimeout(tick, 2000);
  };
  setTimeout(tick, 0);
  return h("div", {}, h("h1", {}, "Activity"), h("div", { class: "tiles" }, h("div", { class: "tile" }, live, "events stored (live)")),
    chart.svg, chart.legend,
    h("p", { class: "muted" }, `${data.days[0]} – ${data.days[data.days.length - 1]} (UTC days), ${chart.total} events`));
};

/** What recommendations earn: GET /recommendations/report, per placement and model. */
pages.earnings = async () => {
  const days = Number(new URLSearchParams(location.hash.split("?")[1] || "").get("days")) || 30;
  const { status, data } = await api("GET", `/recommendations/report?days=${days}`);
  if (status !== 200) return h("p", { class: "error" }, problem(data));
  const money = (v) => (Math.round(v * 100) / 100).toLocaleString("en", { maximumFractionDigits: 2 });
  const pct = (v) => (v === null || v === undefined ? "–" : `${(v * 100).toFixed(1)} %`);
  const name = (p) => `${p.placement || "(no placement)"} · ${p.model || "untrained"}`;
  const dates = data.placements.length ? data.placements[0].days.map((d) => d.date) : [];
  const series = Object.fromEntries(data.placements.map((p) => [name(p), p.days.map((d) => d.revenue)]));
  const chart = barChart(dates, series, `Attributed revenue per day and placement, last ${data.days} days`, money);
  const t = data.totals;
  const tile = (value, label) => h("div", { class: "tile" }, h("b", {}, value), label);
  const pick = h("select", { name: "days", onchange: (e) => { location.hash = `#/earnings?days=${e.target.value}`; } },
    [7, 30, 90, 365].map((n) => h("option", { value: n, selected: n === days }, `last ${n} days`)));
  return h("div", {}, h("h1", {}, "What recommendations earn"),
    h("div", { class: "row" }, field("Period", pick).wrap),
    h("div", { class: "tiles" }, tile(t.requests, "answers given"), tile(t.impressions, "widgets shown"), tile(t.clicks, "clicks"),
      tile(pct(t.ctr), "CTR"), tile(t.attributed_purchases, "attributed purchases"), tile(money(t.revenue), "attributed revenue")),
    dates.length ? [chart.svg, chart.legend] : h("p", { class: "muted" }, "No recommendation answers in this period yet."),
    h("div", { class: "table-wrap" }, h("table", { class: "report" },
      h("thead", {}, h("tr", {}, ["Placement · model", "Answers", "Shown", "Clicks", "CTR", "Purchases", "Revenue"].map((c) => h("th", {}, c)))),
      h("tbody", {}, data.placements.map((p) => h("tr", {}, h("td", {}, name(p)), h("td", {}, p.requests), h("td", {}, p.impressions),
        h("td", {}, p.clicks), h("td", {}, pct(p.ctr)), h("td", {}, p.attributed_purchases), h("td", {}, money(p.revenue))))))),
    h("p", { class: "muted" }, `${data.from} – ${data.to} (UTC days). A purchase counts for the latest click on its item by the same customer within ${data.attribution_window_days} days.`));
};

pages.experiences = async () => {
  const [{ data: types }, { data: saved }, { data: list }] = await Promise.all([api("GET", "/interactions"), api("GET", "/audiences"), api("GET", "/experiences")]);
  let rule = null;
  const builder = new RuleBuilder(types.interactions, saved.audiences.map((a) => a.id), (r) => { rule = r; }, true);
  const id = field("Experience id", h("input", { name: "experience-id", placeholder: "loan_banner" }));
  const name = field("Name", h("input", { name: "experience-name", placeholder: "Loan offer banner" }));
  const priority = field("Priority", h("input", { name: "priority", type: "number", value: "0" }));
  const status = field("Status", select([["active", "active"], ["paused", "paused"]], "active", () => {}, "status"));
  const start = field("Start (optional)", h("input", { name: "start", type: "date" }));
  const end = field("End (optional)", h("input", { name: "end", type: "date" }));
  const variants = h("div", {});
  const addVariant = (vid, weight) => {
    const v = field("Variant id", h("input", { name: "variant-id", value: vid }));
    const w = field("Weight", h("input", { name: "variant-weight", type: "number", value: String(weight) }));
    const p = field("Payload (JSON)", h("textarea", { name: "variant-payload", rows: 2, cols: 40 }, '{"text": "…"}'));
    const row = h("div", { class: "row variant" }, v.wrap, w.wrap, p.wrap, h("button", { type: "button", class: "danger", onclick: () => row.remove() }, "Remove variant"));
    row.read = () => { let payload = null; try { payload = JSON.parse(p.input.value || "null"); } catch { payload = p.input.value; } return { id: v.input.value.trim(), weight: Number(w.input.value || 0), payload }; };
    variants.append(row);
  };
  addVariant("a", 50);
  addVariant("b", 50);
  const out = h("p", { class: "error", role: "alert" });
  const report = h("div", {});
  const showReport = async (eid) => {
    const { data } = await api("GET", `/experiences/${encodeURIComponent(eid)}/report`);
    report.replaceChildren(h("section", { class: "card" }, h("h2", {}, `Report: ${eid} (purchases within ${data.window_days} days of a first exposure)`),
      h("table", { class: "report" }, h("thead", {}, h("tr", {}, ...["Variant", "Exposed", "Converted", "Conversion", "Revenue", "p-value vs first"].map((c) => h("th", {}, c)))),
        h("tbody", {}, data.variants.map((v) => h("tr", {}, h("td", {}, v.id), h("td", {}, String(v.exposed)), h("td", {}, String(v.converted)),
          h("td", {}, `${(100 * v.conversion_rate).toFixed(1)} %`), h("td", {}, v.revenue.toFixed(2)), h("td", {}, v.p_value === null ? "–" : v.p_value.toFixed(4))))))));
  };
  const rows = list.experiences.map((e) => h("tr", {}, h("td", {}, h("code", {}, e.id)), h("td", {}, e.name), h("td", {}, e.status), h("td", {}, String(e.priority)),
    h("td", {}, e.variants.map((v) => `${v.id} (${v.weight})`).join(", ")),
    h("td", {}, h("button", { class: "secondary", onclick: () => showReport(e.id) }, `Report ${e.id}`), " ",
      h("button", { class: "danger", onclick: async () => {
        if (!confirm(`Delete experience ${e.id} and its exposures?`)) return;
        const r = await api("DELETE", `/experiences/${encodeURIComponent(e.id)}`);
        if (r.status >= 400) alert(problem(r.data)); else route();
      } }, "Delete"))));
  return h("div", {}, h("h1", {}, "Experiences"),
    h("form", { class: "card", onsubmit: async (ev) => {
      ev.preventDefault();
      const body = { id: id.input.value.trim(), name: name.input.value.trim(), status: status.input.value, priority: Number(priority.input.value || 0),
        rule, variants: [...variants.children].map((r) => r.read()) };
      if (start.input.value || end.input.value) body.schedule = Object.assign({}, start.input.value && { start: start.input.value }, end.input.value && { end: end.input.value });
      const { status: code, data } = await api("POST", "/experiences", body);
      if (code === 201) route(); else out.textContent = problem(data);
    } }, h("h2", {}, "New experience"), h("div", { class: "row" }, id.wrap, name.wrap, priority.wrap, status.wrap, start.wrap, end.wrap),
    h("h2", {}, "Who sees it"), builder.el, h("h2", {}, "Variants"), variants,
    h("div", { class: "row" }, h("button", { type: "button", class: "secondary", onclick: () => addVariant("", 0) }, "Add variant"),
      h("button", { type: "submit" }, "Save experience")), out),
    h("h2", {}, "Experiences"),
    h("div", { class: "table-wrap" }, h("table", { class: "experiences" }, h("thead", {}, h("tr", {}, ...["Id", "Name", "Status", "Priority", "Variants", ""].map((c) => h("th", {}, c)))), h("tbody", {}, rows))),
    report);
};

pages.keys = async () => {
  const { data } = await api("GET", "/keys");
  const created = h("div", { role: "status" });
  const scope = field("Scope", select([["ingest", "ingest (storefronts)"], ["admin", "admin"]], "ingest", () => {}, "scope"));
  const rows = data.keys.map((k) => h("tr", {}, h("td", {}, h("code", {}, k.id)), h("td", {}, k.scope), h("td", {}, k.created_at),
    h("td", {}, h("button", { class: "danger", onclick: async () => { if (!confirm(`Revoke ${k.id}?`)) return; const r = await api("DELETE", `/keys/${encodeURIComponent(k.id)}`); if (r.status >= 400) alert(problem(r.data)); route(); } }, `Revoke ${k.id}`))));
  return h("div", {}, h("h1", {}, "Keys"),
    h("form", { class: "card", onsubmit: async (e) => {
      e.preventDefault();
      const { status, data: k } = await api("POST", "/keys", { scope: scope.input.value });
      created.replaceChildren(status === 201 ? h("p", {}, "New key (shown once): ", h("code", { class: "secret" }, k.key)) : h("p", { class: "error" }, problem(k)));
    } }, h("div", { class: "row" }, scope.wrap, h("button", { type: "submit" }, "Create key")), created),
    h("div", { class: "table-wrap" }, h("table", {}, h("thead", {}, h("tr", {}, ...["Id", "Scope", "Created", ""].map((c) => h("th", {}, c)))), h("tbody", {}, rows))));
};
