import ReactMarkdown from "react-markdown";

/**
 * A host's answer as Markdown. Raw HTML is dropped (`skipHtml`), never parsed, and links keep
 * react-markdown's URL filter (no `javascript:`), so a host cannot inject markup or script.
 */
export function Markdown(props: { text: string }) {
  return (
    <ReactMarkdown
      skipHtml
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
}
