using VpsPanel.Features.Deployments;
using VpsPanel.Features.Shared;

namespace VpsPanel.Tests.Shared;

/// <summary>ANSI escapes as CSS classes (the pages) and removed (every text the panel gives out).</summary>
public sealed class AnsiTests
{
    const string E = "\u001b";

    [Theory]
    [InlineData(E + "[31mred" + E + "[0m plain", "red plain")]
    [InlineData(E + "[1;32mbold green" + E + "[m", "bold green")]
    [InlineData(E + "[38;5;208morange" + E + "[39m", "orange")]
    [InlineData(E + "[38;2;255;128;0mtruecolour" + E + "[0m", "truecolour")]
    [InlineData(E + "[2K" + E + "[1G" + E + "[3Aprogress 50%", "progress 50%")]
    [InlineData(E + "]0;window title\u0007text", "text")]
    [InlineData(E + "]8;;https://example.com" + E + "\\link" + E + "]8;;" + E + "\\", "link")]
    [InlineData(E + "(Bcharset", "charset")]
    // What the old log writer left when it dropped ESC: the classic builder's stderr colour around npm's output.
    [InlineData("[91mnpm ERR! missing script: build", "npm ERR! missing script: build")]
    [InlineData("[0mThe command failed", "The command failed")]
    [InlineData("[1;31mx[0m [38;5;208my[0m[2K", "x y")]
    public void Strip_removes_every_sequence_and_the_bare_fragments_of_old_logs(string input, string expected) =>
        Assert.Equal(expected, Ansi.Strip(input));

    [Theory]
    [InlineData("#5 [3/4] RUN npm ci")]
    [InlineData("values[0] = arr[12]; see [1] and [INFO] [2/4]")]
    [InlineData("Step 1/5 : FROM scratch")]
    [InlineData("#5 [3/4] RUN printf '\\033[31mred\\033[0m' and echo -e '\\e[1;32mok\\e[0m' '\\x1b[2K'")]
    [InlineData("plain text, no escapes")]
    public void Strip_leaves_ordinary_brackets_alone(string text) => Assert.Equal(text, Ansi.Strip(text));

    [Fact]
    public void Colours_become_classes_and_every_character_is_html_encoded()
    {
        Assert.Equal("<span class=\"ansi-fg-1\">red</span> plain", Ansi.ToHtml(E + "[31mred" + E + "[0m plain"));
        Assert.Equal("<span class=\"ansi-fg-2 ansi-bold\">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;</span>&amp;",
            Ansi.ToHtml(E + "[1;32m<script>alert(\"x\")</script>" + E + "[0m&"));
        Assert.Equal("&lt;b&gt;no colour&lt;/b&gt;", Ansi.ToHtml("<b>no colour</b>"));
        // 256-colour and truecolour values go to the nearest of the 16 classes (CSP: no inline styles).
        Assert.Equal("<span class=\"ansi-fg-1\">r</span>", Ansi.ToHtml(E + "[38;5;196mr"));
        Assert.Equal("<span class=\"ansi-fg-4\">b</span>", Ansi.ToHtml(E + "[38;2;0;0;255mb"));
        Assert.Equal("<span class=\"ansi-bg-9\">bg</span>", Ansi.ToHtml(E + "[101mbg"));
        Assert.Equal("<span class=\"ansi-fg-15 ansi-bg-4\">x</span>", Ansi.ToHtml(E + "[97;44mx"));
        // Cursor and erase sequences are dropped, not shown.
        Assert.Equal("done", Ansi.ToHtml(E + "[2K" + E + "[1Gdone"));
        // A malformed extended colour changes nothing and breaks nothing.
        Assert.Equal("x", Ansi.ToHtml(E + "[38;5mx"));
    }

    [Fact]
    public void A_colour_carries_over_to_the_next_lines_until_reset_and_no_span_crosses_a_line_end()
    {
        // The classic builder wraps a step's stderr: ESC[91m before its first line, ESC[0m after its last.
        var html = Ansi.ToHtml(E + "[91mnpm ERR! missing script: build\nnpm ERR! A complete log\n" + E + "[0minstalling deps");
        Assert.Equal(
            "<span class=\"ansi-fg-9\">npm ERR! missing script: build</span>\n<span class=\"ansi-fg-9\">npm ERR! A complete log</span>\ninstalling deps",
            html);
    }

    [Fact]
    public void Bare_fragments_of_old_logs_are_rendered_as_colours_too() =>
        Assert.Equal("<span class=\"ansi-fg-9\">npm ERR! x</span>", Ansi.ToHtml("[91mnpm ERR! x[0m"));

    [Fact]
    public void The_log_view_dims_the_timestamp_marks_chatter_and_gives_text_without_escapes()
    {
        var log = "2026-12-01T13:36:21.123Z #5 [3/4] RUN printf red\n" +
                  "2026-12-01T13:36:21.124Z #5 sha256:a805d2343e8d80cea9703a1d1fde25f472348c1013f4f82da8a160b308ed671b\n" +
                  "2026-12-01T13:36:22.000Z #5 1.004 " + E + "[31mred" + E + "[0m <ok>\n";
        Assert.Equal(
            "<span class=\"ln\"><span class=\"ts\">2026-12-01T13:36:21.123Z </span>#5 [3/4] RUN printf red\n</span>" +
            "<span class=\"ln chatter\"><span class=\"ts\">2026-12-01T13:36:21.124Z </span>#5 sha256:a805d2343e8d80cea9703a1d1fde25f472348c1013f4f82da8a160b308ed671b\n</span>" +
            "<span class=\"ln\"><span class=\"ts\">2026-12-01T13:36:22.000Z </span>#5 1.004 <span class=\"ansi-fg-1\">red</span> &lt;ok&gt;\n</span>",
            LogView.Html(log));
        Assert.Equal(
            "2026-12-01T13:36:21.123Z #5 [3/4] RUN printf red\n2026-12-01T13:36:22.000Z #5 1.004 red <ok>\n",
            LogView.Text(log, withChatter: false));
        Assert.False(LogView.Text(log, withChatter: true).Contains('\u001b'));
        Assert.Contains("sha256:a805", LogView.Text(log, withChatter: true));
    }
}
