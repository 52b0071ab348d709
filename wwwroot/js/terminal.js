// Terminal page (Features/Terminal/Terminal.cshtml): xterm.js in the browser, a shell in the live container on the
// other end of the panel's WebSocket (Features/Terminal/TerminalSocket.cs). Binary frames are the terminal's bytes both
// ways; a text frame we send is the size {"cols":N,"rows":N}; a text frame we get is the panel's message to show.
(() => {
  const box = document.getElementById("terminal");
  if (!box || box.dataset.started) return;
  box.dataset.started = "1";

  // The page's CSP admits only <style> elements carrying its nonce, and xterm.js makes its own (cell sizes, colours)
  // with document.createElement: give each the nonce as it is made, so no 'unsafe-inline' is needed.
  const nonce = box.dataset.styleNonce;
  const createElement = document.createElement;
  document.createElement = function (name, options) {
    const el = createElement.call(this, name, options);
    if (nonce && String(name).toLowerCase() === "style") el.nonce = nonce;
    return el;
  };

  const status = document.getElementById("terminal-status");
  const message = document.getElementById("terminal-message");
  const term = new Terminal({ cursorBlink: true, fontSize: 14, scrollback: 5000 });
  const fit = new FitAddon.FitAddon();
  term.loadAddon(fit);
  term.open(box);
  fit.fit();

  const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + box.dataset.socket);
  ws.binaryType = "arraybuffer";
  const encoder = new TextEncoder();
  const sendSize = () => {
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ cols: term.cols, rows: term.rows }));
  };
  ws.addEventListener("open", () => { status.textContent = "connected"; sendSize(); term.focus(); });
  ws.addEventListener("message", (e) => {
    if (typeof e.data !== "string") return term.write(new Uint8Array(e.data));
    // The panel's own words: in the terminal (yellow, on a line of their own) and above it.
    term.write("\r\n\x1b[33m" + e.data + "\x1b[0m\r\n");
    message.textContent = e.data;
    message.hidden = false;
  });
  ws.addEventListener("close", (e) => {
    status.textContent = "closed" + (e.reason ? ": " + e.reason : "") + ". Reload the page to open a new terminal.";
    term.options.cursorBlink = false;
  });
  term.onData((data) => { if (ws.readyState === WebSocket.OPEN) ws.send(encoder.encode(data)); });
  term.onResize(sendSize);
  window.addEventListener("resize", () => fit.fit());
  // Boosted navigation (hx-boost on body) replaces the page without unloading it: end the shell with it.
  document.body.addEventListener("htmx:beforeSwap", () => ws.close(), { once: true });
})();
