// Starts `resdsl lsp` (stdio) for .res files.  Install: `npm install` in this folder, then
// `code --install-extension` a package built with `npx @vscode/vsce package`, or open the folder and F5.
const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const [command, ...args] = vscode.workspace.getConfiguration("resdsl").get("server.command");
  client = new LanguageClient(
    "resdsl", "resdsl language server",
    { command, args },
    { documentSelector: [{ scheme: "file", language: "resdsl" }] });
  client.start();
  context.subscriptions.push({ dispose: () => client && client.stop() });
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
