import { createElement } from "react";
import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import { Markdown, maxMarkdownChars } from "./Markdown.tsx";

describe("Markdown", () => {
  it("renders Markdown but never a host's HTML or a javascript: link", () => {
    const html = renderToStaticMarkup(
      createElement(Markdown, {
        text: '**bold** <img src=x onerror="alert(1)"> <script>alert(2)</script> [click](javascript:alert(3)) ![x](http://evil.example/t.png)',
      }),
    );
    expect(html).toContain("<strong>bold</strong>");
    // The HTML shows as text (escaped), never as an element or an attribute; the link loses its href.
    expect(html).not.toMatch(/<img|<script|<[^>]*\sonerror|href="javascript:/i);
  });

  it("shows a host's raw HTML and comments as visible text, so the user sees everything it pays for", () => {
    const hidden = "A".repeat(3_000);
    const html = renderToStaticMarkup(
      createElement(Markdown, { text: `Sure, 42.<!--${hidden}-->\n\n<div hidden>secret</div>\n\n<span style="display:none">x</span>` }),
    );
    expect(html).toContain(`&lt;!--${hidden}--&gt;`);
    expect(html).toContain("&lt;div hidden&gt;secret&lt;/div&gt;");
    expect(html).toContain("&lt;span style=&quot;display:none&quot;&gt;");
    expect(html).not.toMatch(/<div|<span style/);
  });

  it("renders at most maxMarkdownChars of an answer as Markdown, the rest as plain text under a note", () => {
    const line = "word *em* `code`\n";
    const text = line.repeat(Math.ceil((1024 * 1024) / line.length));
    const html = renderToStaticMarkup(createElement(Markdown, { text }));
    const emphasised = html.match(/<em>/g)?.length ?? 0;
    expect(emphasised).toBeGreaterThan(0);
    expect(emphasised).toBeLessThanOrEqual(Math.ceil(maxMarkdownChars / line.length));
    expect(html).toMatch(/more characters of this answer, shown as plain text/);
    expect(html).toContain("<details");
    // Every line is shown: those past the bound as their source text.
    expect((html.match(/word \*em\* `code`/g)?.length ?? 0) + emphasised).toBe(text.split("\n").length - 1);
  });

  it("is memoised, so finished answers are not rendered again while another streams", () => {
    expect((Markdown as unknown as { $$typeof: symbol }).$$typeof).toBe(Symbol.for("react.memo"));
  });
});
