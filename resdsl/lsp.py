"""`resdsl lsp`: a language server over stdio (pygls), publishing resdsl's own diagnostics as you type,
hover figures (output shape, params, MACs), go-to-definition of blocks, networks and imports, and
completion of block and primitive names.  The analysis itself is resdsl/editor.py."""
from __future__ import annotations

from resdsl import __version__


def _uri_to_path(uri: str) -> str:
    from pygls.uris import to_fs_path

    return to_fs_path(uri) or uri


def create_server():
    from lsprotocol import types
    from pygls.lsp.server import LanguageServer
    from pygls.uris import from_fs_path

    from resdsl import editor

    server = LanguageServer("resdsl", __version__, text_document_sync_kind=types.TextDocumentSyncKind.Full)
    analyses: dict[str, editor.Analysis] = {}

    def refresh(ls, uri: str) -> None:
        doc = ls.workspace.get_text_document(uri)
        analysis = editor.analyse(doc.source, _uri_to_path(uri))
        analyses[uri] = analysis
        diagnostics = [types.Diagnostic(
            range=types.Range(types.Position(p.line, p.column), types.Position(p.end_line, p.end_column)),
            message=p.message, severity=types.DiagnosticSeverity.Error, source="resdsl")
            for p in analysis.problems]
        ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics,
                                                                            version=doc.version))

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls, params: types.DidOpenTextDocumentParams):
        refresh(ls, params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls, params: types.DidChangeTextDocumentParams):
        refresh(ls, params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls, params: types.DidSaveTextDocumentParams):
        refresh(ls, params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls, params: types.DidCloseTextDocumentParams):
        analyses.pop(params.text_document.uri, None)
        ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=params.text_document.uri,
                                                                            diagnostics=[]))

    def current(ls, uri: str):
        if uri not in analyses:
            refresh(ls, uri)
        return analyses[uri]

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def hover(ls, params: types.HoverParams):
        uri = params.text_document.uri
        text = editor.hover(current(ls, uri), _uri_to_path(uri), params.position.line, params.position.character)
        if text is None:
            return None
        return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=text))

    @server.feature(types.TEXT_DOCUMENT_DEFINITION)
    def definition(ls, params: types.DefinitionParams):
        uri = params.text_document.uri
        doc = ls.workspace.get_text_document(uri)
        span = editor.definition(current(ls, uri), doc.source, _uri_to_path(uri), params.position.line,
                                 params.position.character)
        if span is None:
            return None
        from pathlib import Path

        start = types.Position(max(0, span.line - 1), max(0, span.column - 1))
        return types.Location(uri=from_fs_path(str(Path(span.file).resolve())), range=types.Range(start, start))

    kinds = {"block": types.CompletionItemKind.Class, "primitive": types.CompletionItemKind.Function,
             "keyword": types.CompletionItemKind.Keyword}

    @server.feature(types.TEXT_DOCUMENT_COMPLETION)
    def completion(ls, params: types.CompletionParams):
        items = [types.CompletionItem(label=label, kind=kinds[kind], detail=detail)
                 for label, kind, detail in editor.completions(current(ls, params.text_document.uri))]
        return types.CompletionList(is_incomplete=False, items=items)

    return server


def serve() -> None:
    create_server().start_io()
