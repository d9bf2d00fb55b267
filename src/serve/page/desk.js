// The tagging desk: polls /api/state, draws tiles grouped by person (review queue first), and
// sends actions to /api/correct. Everything from the server is shown as text (textContent).
"use strict";

const csrf = document.querySelector('meta[name="headshot-csrf"]').content;
const desk = { version: 0, tiles: [], focus: 0, selected: new Set(), anchor: null, undo: [], saving: false };
const $ = (id) => document.getElementById(id);

// The access token moved into a cookie; keep it out of the address bar and history.
if (location.search.includes("token=")) history.replaceState(null, "", "/");

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

function setStatus(text, busy) {
  $("status").textContent = text;
  $("status").classList.toggle("busy", !!busy);
}

async function poll() {
  try {
    const response = await fetch("/api/state?since=" + desk.version, { cache: "no-store" });
    if (response.ok) {
      const state = await response.json();
      if (!state.unchanged) show(state);
    } else {
      setStatus("desk refused: " + response.status, false);
    }
  } catch (error) {
    setStatus("desk not reachable; retrying", false);
  }
  setTimeout(poll, 1000);
}

function show(state) {
  desk.version = state.version;
  const focused = desk.tiles[desk.focus] && desk.tiles[desk.focus].source;
  const list = $("known-names");
  list.replaceChildren(...state.names.map((name) => { const o = element("option"); o.value = name; return o; }));
  $("error").hidden = !state.error;
  $("error").textContent = state.error || "";
  if (!desk.saving) setStatus(state.busy ? "updating the gallery…" : (state.summary || "no photos yet"), state.busy);
  desk.tiles = [];
  const main = $("groups");
  main.replaceChildren();
  for (const group of state.groups) {
    const section = element("section", "group-" + group.kind);
    const title = element("h2", null, group.title);
    title.append(" ", element("span", "count", "(" + group.tiles.length + ")"));
    const tiles = element("div", "tiles");
    for (const tile of group.tiles) {
      tile.index = desk.tiles.length;
      desk.tiles.push(tile);
      tiles.append(drawTile(tile));
    }
    section.append(title, tiles);
    main.append(section);
  }
  const known = new Set(desk.tiles.map((t) => t.source));
  for (const source of [...desk.selected]) if (!known.has(source)) desk.selected.delete(source);
  const again = desk.tiles.findIndex((t) => t.source === focused);
  desk.focus = again >= 0 ? again : Math.min(desk.focus, Math.max(desk.tiles.length - 1, 0));
  paintSelection();
  if ($("namer").hidden && document.activeElement === document.body) focusTile(desk.focus, false);
}

function drawTile(tile) {
  const node = element("div", "tile " + tile.status + " role-" + tile.role);
  node.tabIndex = -1;
  node.dataset.index = tile.index;
  node.dataset.source = tile.source;
  node.dataset.file = tile.file;
  if (tile.thumb) {
    const img = element("img");
    img.src = tile.thumb;
    img.alt = tile.file;
    img.loading = "lazy";
    node.append(img);
  } else {
    node.append(element("div", "noimg", tile.role === "portrait" ? "no picture" : tile.role));
  }
  node.append(element("div", "person", tile.person || (tile.role === "portrait" ? "(unnamed)" : tile.role)));
  if (tile.face_group) node.append(element("span", "group", tile.face_group));
  node.append(element("div", "file", tile.file + (tile.capture_time ? " · " + tile.capture_time.slice(11, 19) : "")));
  if (tile.reason) node.append(element("div", "reason", tile.reason));
  if (tile.outputs.length) node.append(element("div", "outputs", tile.outputs.join(" ")));
  node.addEventListener("click", (event) => clickTile(tile.index, event.shiftKey));
  // Focus moved another way (a screen reader, a script) is where the arrows go on from.
  node.addEventListener("focus", () => { desk.focus = tile.index; });
  return node;
}

function tileNode(index) { return document.querySelector('.tile[data-index="' + index + '"]'); }

function focusTile(index, extend) {
  if (!desk.tiles.length) return;
  index = Math.max(0, Math.min(desk.tiles.length - 1, index));
  desk.focus = index;
  if (extend) {
    if (desk.anchor === null) desk.anchor = index;
    selectRange(desk.anchor, index);
  } else {
    desk.anchor = index;
  }
  const node = tileNode(index);
  if (node) { node.focus({ preventScroll: true }); node.scrollIntoView({ block: "nearest" }); }
}

function selectRange(from, to) {
  desk.selected.clear();
  for (let i = Math.min(from, to); i <= Math.max(from, to); i++) desk.selected.add(desk.tiles[i].source);
  paintSelection();
}

function clickTile(index, shift) {
  if (shift && desk.anchor !== null) {
    selectRange(desk.anchor, index);
    focusTile(index, false);
    desk.anchor = desk.anchor; // the run keeps its start
    return;
  }
  const source = desk.tiles[index].source;
  if (desk.selected.has(source)) desk.selected.delete(source); else desk.selected.add(source);
  paintSelection();
  focusTile(index, false);
}

function paintSelection() {
  for (const node of document.querySelectorAll(".tile")) {
    node.classList.toggle("selected", desk.selected.has(node.dataset.source));
  }
  const count = desk.selected.size;
  $("selection").textContent = count ? count + " selected" : "";
}

// The photos an action is for: the selection, else the focused tile.
function targets() {
  if (desk.selected.size) return [...desk.selected];
  const tile = desk.tiles[desk.focus];
  return tile ? [tile.source] : [];
}

function selectFaceGroup() {
  const tile = desk.tiles[desk.focus];
  if (!tile) return;
  const key = tile.face_group;
  desk.selected.clear();
  for (const other of desk.tiles) {
    if (key ? other.face_group === key : other.source === tile.source) desk.selected.add(other.source);
  }
  paintSelection();
}

// Moves focus to the tile in the row above or below that is nearest across.
function verticalNeighbour(step) {
  const here = tileNode(desk.focus);
  if (!here) return desk.focus;
  const box = here.getBoundingClientRect();
  let best = desk.focus, bestScore = Infinity;
  for (const node of document.querySelectorAll(".tile")) {
    const other = node.getBoundingClientRect();
    const below = other.top - box.top;
    if (step > 0 ? below <= box.height / 2 : below >= -box.height / 2) continue;
    const score = Math.abs(below) * 4 + Math.abs(other.left - box.left);
    if (score < bestScore) { bestScore = score; best = Number(node.dataset.index); }
  }
  return best;
}

function openNamer() {
  const sources = targets();
  if (!sources.length) return;
  desk.naming = sources;
  $("namer-count").textContent = sources.length === 1 ? "1 photo" : sources.length + " photos";
  $("namer").hidden = false;
  const input = $("name-input");
  input.value = "";
  input.focus();
}

function closeNamer() {
  $("namer").hidden = true;
  desk.naming = null;
  focusTile(desk.focus, false);
}

// What undoing an action puts back, per photo: the correction it had, or none ("clear": the
// sheets, slates and faces decide it again; an "unname" would outvote a later slate).
function previousOf(source) {
  const tile = desk.tiles.find((t) => t.source === source);
  if (!tile) return null;
  if (tile.corrected) return { action: tile.corrected.action, name: tile.corrected.name };
  return { action: "clear", name: "" };
}

// Sends one action; true once the gallery shows it. Only a saved action can be undone.
async function act(action, name, sources, remember = true) {
  if (!sources.length) return true;
  const before = sources.map((source) => ({ source, before: previousOf(source) }));
  desk.saving = true;
  setStatus("saving…", true);
  try {
    const response = await fetch("/api/correct", {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Headshot-Csrf": csrf },
      body: JSON.stringify({ sources, action, name }),
    });
    if (!response.ok) throw new Error(response.status + " " + (await response.text()));
    desk.saving = false;
    const state = await response.json();
    desk.selected.clear();
    show(state);
    if (remember) desk.undo.push(before);
    setStatus("saved: " + action + (name ? " " + name : "") + " (" + sources.length + ")", false);
    return true;
  } catch (error) {
    desk.saving = false;
    setStatus("not saved: " + error.message, false);
    return false;
  }
}

// Puts back what the last saved action changed, one request per earlier state; a key press
// while an undo is still saving waits for it, and what failed stays to be undone again.
async function undo() {
  if (desk.undoing) return;
  const last = desk.undo.pop();
  if (!last) { setStatus("nothing to undo", false); return; }
  desk.undoing = true;
  const batches = new Map();
  for (const entry of last) {
    if (!entry.before) continue;
    const key = entry.before.action + "\u0000" + entry.before.name;
    if (!batches.has(key)) batches.set(key, { ...entry.before, entries: [] });
    batches.get(key).entries.push(entry);
  }
  const left = [];
  for (const batch of batches.values()) {
    const sources = batch.entries.map((entry) => entry.source);
    if (left.length || !(await act(batch.action, batch.name, sources, false))) left.push(...batch.entries);
  }
  if (left.length) desk.undo.push(left);
  else setStatus("undone (" + last.length + ")", false);
  desk.undoing = false;
}

function command(what) {
  if (what === "name") openNamer();
  else if (what === "group") selectFaceGroup();
  else if (what === "undo") undo();
  else if (what === "deselect") { desk.selected.clear(); paintSelection(); }
  else act(what, "", targets());
}

document.getElementById("toolbar").addEventListener("click", (event) => {
  const button = event.target.closest("button");
  if (button) command(button.dataset.do);
});

$("name-input").addEventListener("keydown", (event) => {
  // The page's own keys must not see this key too: an Enter that saves would open the
  // name field again, and every key after it would be taken as typing.
  event.stopPropagation();
  if (event.key === "Enter") {
    event.preventDefault();
    const name = event.target.value.trim();
    const sources = desk.naming || [];
    closeNamer();
    if (name) act("name", name, sources);
  } else if (event.key === "Escape") {
    event.preventDefault();
    closeNamer();
  }
});

document.addEventListener("keydown", (event) => {
  if (!$("namer").hidden || event.altKey || event.metaKey) return;
  const keys = {
    ArrowRight: () => focusTile(desk.focus + 1, event.shiftKey),
    ArrowLeft: () => focusTile(desk.focus - 1, event.shiftKey),
    ArrowDown: () => focusTile(verticalNeighbour(1), event.shiftKey),
    ArrowUp: () => focusTile(verticalNeighbour(-1), event.shiftKey),
    " ": () => clickTile(desk.focus, false),
    Enter: () => command("name"),
    Escape: () => command("deselect"),
    g: () => command("group"),
    s: () => command("slate"),
    r: () => command("reject"),
    n: () => command("unname"),
    u: () => command("undo"),
  };
  const key = event.ctrlKey ? (event.key === "z" ? "u" : null) : event.key;
  if (key && keys[key]) { event.preventDefault(); keys[key](); }
});

poll();
