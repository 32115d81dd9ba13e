import { createElement } from "react";
import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import { Markdown } from "./Markdown.tsx";

describe("Markdown", () => {
  it("renders Markdown but never a host's HTML or a javascript: link", () => {
    const html = renderToStaticMarkup(
      createElement(Markdown, {
        text: '**bold** <img src=x onerror="alert(1)"> <script>alert(2)</script> [click](javascript:alert(3)) ![x](http://evil.example/t.png)',
      }),
    );
    expect(html).toContain("<strong>bold</strong>");
    expect(html).not.toMatch(/<img|<script|onerror|javascript:/i);
  });
});
