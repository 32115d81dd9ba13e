import { memo } from "react";
import ReactMarkdown from "react-markdown";

/**
 * The most of one answer rendered as Markdown (UTF-16 code units, 64 Ki; an honest answer of 2,000
 * tokens is under 10 Ki): parsing grows faster than the text (measured side by side: 128 Ki took
 * ≈5× as long as 32 Ki) and the SDK accepts answers of up to 64 MiB, so the rest is plain text.
 */
export const maxMarkdownChars = 64 * 1024;

/**
 * A host's answer as Markdown. Raw HTML and HTML comments are shown as text, escaped, never
 * parsed as HTML (react-markdown without `rehype-raw` or `skipHtml`): the user sees every character
 * it pays for and sends back as history, and a host cannot inject markup or script. Links keep
 * react-markdown's URL filter (no `javascript:`), images show as their alt text. Only
 * the first {@link maxMarkdownChars} are Markdown; the rest is plain text, collapsed under a note.
 * Memoised: an answer is rendered again only when its text changed.
 */
export const Markdown = memo(function Markdown(props: { text: string }) {
  const { text } = props;
  const cut = markdownCut(text);
  return (
    <>
      <MarkdownPart text={text.slice(0, cut)} />
      {cut < text.length && (
        <details className="answer-rest">
          <summary>{(text.length - cut).toLocaleString("en-US")} more characters of this answer, shown as plain text</summary>
          <pre>{text.slice(cut)}</pre>
        </details>
      )}
    </>
  );
});

/** The Markdown part, memoised on its text: once an answer streams past the bound, only its plain tail is drawn again. */
const MarkdownPart = memo(function MarkdownPart(props: { text: string }) {
  return (
    <ReactMarkdown
      components={{
        a: ({ href, children }) => (
          <a href={href} target="_blank" rel="noreferrer noopener nofollow">
            {children}
          </a>
        ),
        img: ({ alt }) => <span>{alt}</span>,
      }}
    >
      {props.text}
    </ReactMarkdown>
  );
});

/** Where the Markdown part of `text` ends: at the last line break within the bound, else at the bound. */
function markdownCut(text: string): number {
  if (text.length <= maxMarkdownChars) return text.length;
  const lineEnd = text.lastIndexOf("\n", maxMarkdownChars - 1);
  return lineEnd > 0 ? lineEnd + 1 : maxMarkdownChars;
}
