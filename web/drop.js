// Model files from a drag and drop: plain files, or a whole checkpoint folder (its files read
// through the File System entries API, one level of nesting and deeper).

// Every File under a dropped entry.
async function filesOf(entry) {
  if (entry.isFile) {
    const file = await new Promise((ok, fail) => entry.file(ok, fail));
    file.relPath = entry.fullPath.replace(/^\//, ''); // where it lies in the dropped folder
    return [file];
  }
  const reader = entry.createReader();
  const out = [];
  for (;;) {
    // readEntries answers in batches until it returns an empty one
    const batch = await new Promise((ok, fail) => reader.readEntries(ok, fail));
    if (!batch.length) return out;
    for (const e of batch) out.push(...await filesOf(e));
  }
}

// Calls onFiles(files) when files or a folder are dropped anywhere on the page; shows `overlay`
// while something is dragged over it.
export function acceptDrops(overlay, onFiles) {
  let depth = 0;
  const show = (on) => { overlay.hidden = !on; };
  window.addEventListener('dragenter', (e) => { e.preventDefault(); depth++; show(true); });
  window.addEventListener('dragleave', () => { if (--depth <= 0) { depth = 0; show(false); } });
  window.addEventListener('dragover', (e) => e.preventDefault());
  window.addEventListener('drop', async (e) => {
    e.preventDefault();
    depth = 0;
    show(false);
    const entries = [...e.dataTransfer.items].map((i) => i.webkitGetAsEntry && i.webkitGetAsEntry()).filter(Boolean);
    const files = entries.length
      ? (await Promise.all(entries.map(filesOf))).flat()
      : [...e.dataTransfer.files];
    if (files.length) onFiles(files);
  });
}
