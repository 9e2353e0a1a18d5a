// MTM Collect's host for ODK Web Forms (ADR 0020): mounts ODK's own <OdkWebForm> (Vue 3, no bundler: an
// import map names Vue's browser build and the package's dist, both served as static files), in the
// page's language, and posts each interview as Collect does (xml_submission_file + attachments) to the
// page's submit URL, where the same ingest service stores it (201 new, 202 received already, 409 conflict).
//
// - Drafts: the instance being filled is kept in localStorage (per account, form and version) and
//   restored after a reload, its instanceID kept.
// - Outbox: a finished interview is kept in localStorage until the server has answered 201 or 202; an
//   interrupted send is sent again (now, when the browser is back online, every 30 s, at the next visit)
//   with the same instanceID, so the server stores it once.
// - Corrections: the interview opens in edit mode (Web Forms sets meta/deprecatedID and a new instanceID);
//   a reason is required and posted with it.
import { createApp, h } from "vue";
import { OdkWebForm, POST_SUBMIT__NEW_INSTANCE, webFormsPlugin } from "@getodk/web-forms";

const config = JSON.parse(document.getElementById("mtm-webform-config").textContent);
const text = config.text;
const csrfToken = () => {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  const input = document.querySelector("input[name=csrfmiddlewaretoken]");
  return match ? decodeURIComponent(match[1]) : input ? input.value : "";
};
const OUTBOX = "mtm-webform-outbox";
const statusBox = document.getElementById("mtm-status");

function say(message, kind = "info") {
  statusBox.textContent = message;
  statusBox.dataset.kind = kind;
}

// ---- storage ----------------------------------------------------------------------------------------
function readJSON(key, fallback) {
  try {
    const raw = window.localStorage.getItem(key);
    return raw ? JSON.parse(raw) : fallback;
  } catch (err) {
    return fallback;
  }
}

function writeJSON(key, value) {
  try {
    window.localStorage.setItem(key, JSON.stringify(value));
    return true;
  } catch (err) {
    return false; // quota: the caller keeps what it can
  }
}

const outbox = () => readJSON(OUTBOX, []);

function outboxPut(entry) {
  const kept = outbox().filter((e) => e.id !== entry.id);
  kept.push(entry);
  if (!writeJSON(OUTBOX, kept)) {
    // Too large with its files: keep the answers at least (the files can be sent again with them).
    kept[kept.length - 1] = { ...entry, files: [] };
    writeJSON(OUTBOX, kept);
  }
}

function outboxDrop(id) {
  writeJSON(OUTBOX, outbox().filter((e) => e.id !== id));
}

// ---- instance XML -----------------------------------------------------------------------------------
function metaElement(doc, name) {
  const found = doc.getElementsByTagNameNS("*", name);
  for (const el of found) {
    if (el.parentNode && el.parentNode.localName === "meta") return el;
  }
  return null;
}

function instanceIdOf(xml) {
  const el = metaElement(new DOMParser().parseFromString(xml, "text/xml"), "instanceID");
  return el ? el.textContent.trim() : "";
}

// A restored draft is opened in Web Forms' edit mode, which gives the instance a new instanceID and a
// deprecatedID: the draft is still the same, unsent interview, so its own instanceID is put back.
function asDraftInstance(xml, instanceID) {
  const doc = new DOMParser().parseFromString(xml, "text/xml");
  const id = metaElement(doc, "instanceID");
  if (id) id.textContent = instanceID;
  const deprecated = metaElement(doc, "deprecatedID");
  if (deprecated) deprecated.parentNode.removeChild(deprecated);
  return new XMLSerializer().serializeToString(doc);
}

const blobToDataURL = (blob) => new Promise((resolve, reject) => {
  const reader = new FileReader();
  reader.onload = () => resolve(reader.result);
  reader.onerror = () => reject(reader.error);
  reader.readAsDataURL(blob);
});

async function dataURLToBlob(url) {
  return (await fetch(url)).blob();
}

// ---- sending ----------------------------------------------------------------------------------------
function envelopeText(body) {
  const doc = new DOMParser().parseFromString(body, "text/xml");
  const node = doc.getElementsByTagNameNS("*", "message")[0];
  return node ? node.textContent.trim() : body.slice(0, 300);
}

async function post(entry) {
  const body = new FormData();
  body.append(config.xmlPart, new Blob([entry.xml], { type: "text/xml" }), "submission.xml");
  for (const file of entry.files || []) {
    body.append(file.name, await dataURLToBlob(file.data), file.name);
  }
  if (entry.reason) body.append("reason", entry.reason);
  return fetch(entry.url, {
    method: "POST", body, credentials: "same-origin",
    headers: { "X-CSRFToken": csrfToken(), "X-OpenRosa-Version": "1.0" },
  });
}

// Sends one entry; answers "sent" (201), "duplicate" (202), "refused" (a 4xx: the server will not take it
// as it is) or "later" (no connection, or the server is unavailable: kept and sent again).
async function deliver(entry) {
  let response;
  try {
    response = await post(entry);
  } catch (err) {
    return { outcome: "later" };
  }
  const message = envelopeText(await response.text());
  const location = response.headers.get("Location");
  if (response.status === 201) return { outcome: "sent", message, location };
  if (response.status === 202) return { outcome: "duplicate", message, location };
  if (response.status >= 400 && response.status < 500 && response.status !== 408 && response.status !== 429) {
    return { outcome: "refused", message, status: response.status };
  }
  return { outcome: "later", message };
}

let flushing = false;

async function flushOutbox() {
  if (flushing) return;
  const waiting = outbox().filter((e) => e.url === config.urls.submit);
  if (!waiting.length) return;
  flushing = true;
  try {
    say(text.retrying, "info");
    for (const entry of waiting) {
      const result = await deliver(entry);
      if (result.outcome === "sent" || result.outcome === "duplicate") {
        outboxDrop(entry.id);
        say(result.outcome === "sent" ? text.sent : text.duplicate, "success");
      } else if (result.outcome === "refused") {
        outboxDrop(entry.id);
        say(`${text.refused} ${result.message}`, "error");
      } else {
        say(text.offline, "warning");
        break;
      }
    }
  } finally {
    flushing = false;
  }
}

// ---- drafts -----------------------------------------------------------------------------------------
const draftKey = config.draftKey;
let restoredDraft = draftKey ? readJSON(draftKey, null) : null;
let dirty = false;
let formRoot = null;

function findRoot(vnode, depth = 0) {
  if (!vnode || depth > 400) return null;
  const component = vnode.component;
  if (component) {
    const form = component.props && component.props.form;
    if (form && form.nodeType === "root") return form;
    const found = findRoot(component.subTree, depth + 1);
    if (found) return found;
  }
  if (Array.isArray(vnode.children)) {
    for (const child of vnode.children) {
      const found = findRoot(child, depth + 1);
      if (found) return found;
    }
  }
  return null;
}

function saveDraft() {
  if (!draftKey || !dirty || !formRoot) return;
  const xml = formRoot.instanceState.instanceXML;
  const instanceID = (restoredDraft && restoredDraft.instanceID) || instanceIdOf(xml);
  restoredDraft = { instanceID, xml, savedAt: new Date().toISOString() };
  writeJSON(draftKey, restoredDraft);
}

function clearDraft() {
  if (draftKey) window.localStorage.removeItem(draftKey);
  restoredDraft = null;
  dirty = false;
}

function pickLanguage(root) {
  const wanted = config.language;
  const languages = (root.languages || []).filter((l) => !l.isSyntheticDefault);
  const match = languages.find((l) => l.language.endsWith(`(${wanted})`))
    || languages.find((l) => l.language.toLowerCase().startsWith(wanted));
  if (match) {
    try { root.setLanguage(match); } catch (err) { /* the form's own default stays */ }
  }
}

// ---- the form ---------------------------------------------------------------------------------------
async function fetchFormAttachment(url) {
  const name = decodeURIComponent(String(url.href || url).split("/").pop());
  return fetch(config.urls.media.replace("FILENAME", encodeURIComponent(name)), { credentials: "same-origin" });
}

let sending = false;

// A second press of Send while one is on its way is ignored: Web Forms would serialise the instance again
// (its `end` time moved on) and the server would rightly refuse different content under the same
// instanceID (409).
async function onSubmit(payload, callback) {
  if (payload.status !== "ready" || sending) return;
  sending = true;
  try {
    await submitted(payload, callback);
  } finally {
    sending = false;
  }
}

async function submitted(payload, callback) {
  const data = payload.data[0];
  let xml = await data.get(config.xmlPart).text();
  if (restoredDraft && !config.correction) xml = asDraftInstance(xml, restoredDraft.instanceID);
  const files = [];
  for (const [name, value] of data.entries()) {
    if (name !== config.xmlPart && value instanceof Blob) {
      files.push({ name, type: value.type, data: await blobToDataURL(value) });
    }
  }
  const entry = { id: instanceIdOf(xml), url: config.urls.submit, xml, files, at: new Date().toISOString() };
  if (config.correction) {
    const reason = document.getElementById("correction-reason");
    entry.reason = reason.value.trim();
    if (!entry.reason) {
      say(text.reasonRequired, "error");
      reason.focus();
      return;
    }
  } else {
    outboxPut(entry); // kept until the server has it
  }
  say(text.sending, "info");
  let result = await deliver(entry);
  for (let attempt = 1; result.outcome === "later" && attempt < 3; attempt += 1) {
    await new Promise((resolve) => setTimeout(resolve, 1500 * attempt));
    result = await deliver(entry);
  }
  if (result.outcome === "sent" || result.outcome === "duplicate") {
    outboxDrop(entry.id);
    clearDraft();
    if (config.correction) {
      say(text.corrected, "success");
      window.location.assign(result.location || config.urls.back);
      return;
    }
    say(result.outcome === "sent" ? text.sent : text.duplicate, "success");
    document.body.dataset.lastSent = entry.id;
    document.getElementById("mtm-draft").hidden = true;
    callback({ status: "success", next: POST_SUBMIT__NEW_INSTANCE });
  } else if (result.outcome === "refused") {
    outboxDrop(entry.id);
    say(`${text.refused} ${result.message}`, "error");
  } else if (config.correction) {
    say(text.offline, "warning");
  } else {
    clearDraft(); // it is in the outbox now
    say(text.offline, "warning");
    callback({ status: "success", next: POST_SUBMIT__NEW_INSTANCE });
  }
  window.scrollTo(0, 0);
}

async function start() {
  const formXml = await (await fetch(config.urls.form, { credentials: "same-origin" })).text();
  const props = {
    formXml, fetchFormAttachment, onSubmit, trackDevice: true,
    missingResourceBehavior: "BLANK",
  };
  if (config.correction) {
    props.editInstance = {
      resolveInstance: async () => (await fetch(config.urls.instance, { credentials: "same-origin" })).text(),
      attachmentFileNames: [],
      resolveAttachment: (name) => fetchFormAttachment(name),
    };
  } else if (restoredDraft && restoredDraft.xml) {
    const draft = restoredDraft.xml;
    props.editInstance = { resolveInstance: async () => draft, attachmentFileNames: [], resolveAttachment: fetchFormAttachment };
    const banner = document.getElementById("mtm-draft");
    banner.querySelector(".text").textContent = text.draftRestored;
    const discard = document.getElementById("mtm-draft-discard");
    discard.textContent = text.draftDiscard;
    discard.addEventListener("click", () => { clearDraft(); window.location.reload(); });
    banner.hidden = false;
  }
  const app = createApp({ render: () => h(OdkWebForm, props) });
  app.use(webFormsPlugin);
  app.mount("#mtm-webform");
  const container = document.getElementById("mtm-webform");
  for (const type of ["input", "change", "click"]) {
    container.addEventListener(type, () => { dirty = true; }, true);
  }
  // The engine's root appears once the form has loaded: set the page's language, then keep drafts.
  const waitRoot = setInterval(() => {
    // Vue keeps the rendered tree on its container (`_vnode`, in production builds too).
    const root = findRoot(container._vnode);
    if (root && root !== formRoot) {
      formRoot = root;
      pickLanguage(root);
      document.body.dataset.formReady = "true";
    }
  }, 200);
  setInterval(saveDraft, 1000);
  window.addEventListener("pagehide", saveDraft);
  document.addEventListener("visibilitychange", saveDraft);
  window.addEventListener("beforeunload", () => clearInterval(waitRoot));
}

window.addEventListener("online", flushOutbox);
setInterval(flushOutbox, 30000);
start().then(flushOutbox).catch((err) => say(`${text.refused} ${err.message || err}`, "error"));
