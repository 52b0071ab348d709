using System.Net;
using System.Text;
using System.Text.RegularExpressions;

namespace VpsPanel.Features.Shared;

/// <summary>
/// ANSI escape sequences in build and app output: rendered as CSS classes for the pages (CSP forbids inline styles, so
/// every colour is one of 16 classes in site.css: 256-colour and truecolour values go to the nearest of the 16), and
/// removed from every text the API or a download gives out.
/// Where they come from: the classic builder wraps each RUN step's stderr in ESC[91m … ESC[0m on its own, and apps
/// (npm, pytest, cargo …) colour their output. Logs written before issue 14 lost the ESC byte (the log writer dropped
/// every control character) and hold bare "[91m" / "[0m" fragments: those are recognised too, but only in the narrow
/// SGR/erase shapes ("[" digits "m", "[2K"), and not after a written-out escape (printf '\033[31m' in a Dockerfile
/// line is source text, not colour), so ordinary text in brackets is left alone.
/// </summary>
public static partial class Ansi
{
    // CSI (ESC [ params intermediates final), OSC (ESC ] … BEL or ESC \; e.g. hyperlinks, window titles), other
    // two-byte escapes (ESC ( B, ESC =, …), a lone ESC, and the bare fragments of old logs.
    [GeneratedRegex(@"\x1b\[([0-?]*)[ -/]*([@-~])|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[()#][0-9A-Za-z]|\x1b[ -~]?|(?<!\\(?:033|x1[bB]|u001[bB]|e|E))(?:\[((?:\d{1,3};)*\d{1,3})(m)|\[[02]K)", RegexOptions.CultureInvariant)]
    private static partial Regex Sequence();

    /// <summary>The text with every escape sequence (and bare fragment) removed.</summary>
    public static string Strip(string text) => text.Contains('[') || text.Contains('\x1b') ? Sequence().Replace(text, "") : text;

    /// <summary>True when the text holds an escape sequence or a bare fragment of one.</summary>
    public static bool HasSequences(string text) => Sequence().IsMatch(text);

    /// <summary>Text attributes set by SGR sequences; carried from one line to the next within one rendering.</summary>
    public sealed class Style
    {
        public int Fg = -1, Bg = -1;
        public bool Bold, Dim, Italic, Underline;

        public bool IsPlain => Fg < 0 && Bg < 0 && !Bold && !Dim && !Italic && !Underline;

        public void Reset()
        {
            Fg = Bg = -1;
            Bold = Dim = Italic = Underline = false;
        }

        public string Classes()
        {
            var parts = new List<string>(4);
            if (Fg >= 0) parts.Add("ansi-fg-" + Fg);
            if (Bg >= 0) parts.Add("ansi-bg-" + Bg);
            if (Bold) parts.Add("ansi-bold");
            if (Dim) parts.Add("ansi-dim");
            if (Italic) parts.Add("ansi-italic");
            if (Underline) parts.Add("ansi-underline");
            return string.Join(' ', parts);
        }

        /// <summary>Applies one SGR parameter list ("1;31", "38;5;208", "38;2;255;128;0", "" = reset).</summary>
        public void Apply(string parameters)
        {
            var p = parameters.Length == 0 ? [0] : parameters.Split(';').Select(s => int.TryParse(s, out var n) ? n : 0).ToArray();
            for (var i = 0; i < p.Length; i++)
            {
                switch (p[i])
                {
                    case 0: Reset(); break;
                    case 1: Bold = true; break;
                    case 2: Dim = true; break;
                    case 3: Italic = true; break;
                    case 4: Underline = true; break;
                    case 22: Bold = Dim = false; break;
                    case 23: Italic = false; break;
                    case 24: Underline = false; break;
                    case >= 30 and <= 37: Fg = p[i] - 30; break;
                    case 39: Fg = -1; break;
                    case >= 40 and <= 47: Bg = p[i] - 40; break;
                    case 49: Bg = -1; break;
                    case >= 90 and <= 97: Fg = p[i] - 90 + 8; break;
                    case >= 100 and <= 107: Bg = p[i] - 100 + 8; break;
                    case 38 or 48:
                        var target = p[i];
                        if (ExtendedColour(p, ref i) is { } c)
                        {
                            if (target == 38) Fg = c; else Bg = c;
                        }
                        break;
                }
            }
        }

        /// <summary>Reads "38;5;n" or "38;2;r;g;b" starting at p[i] (= 38 or 48); leaves i on its last number.</summary>
        static int? ExtendedColour(int[] p, ref int i)
        {
            if (i + 2 < p.Length && p[i + 1] == 5)
            {
                var n = p[i + 2];
                i += 2;
                return Nearest16(n);
            }
            if (i + 4 < p.Length && p[i + 1] == 2)
            {
                var (r, g, b) = (p[i + 2], p[i + 3], p[i + 4]);
                i += 4;
                return NearestOf(r, g, b);
            }
            i = p.Length;
            return null;
        }
    }

    /// <summary>A terminal's 16 colours (VS Code's defaults), to find the nearest class for 256-colour and truecolour values.</summary>
    static readonly (int R, int G, int B)[] Palette =
    [
        (0, 0, 0), (205, 49, 49), (13, 188, 121), (229, 229, 16), (36, 114, 200), (188, 63, 188), (17, 168, 205), (229, 229, 229),
        (102, 102, 102), (241, 76, 76), (35, 209, 139), (245, 245, 67), (59, 142, 234), (214, 112, 214), (41, 184, 219), (255, 255, 255),
    ];

    /// <summary>A 256-colour index as one of the 16: 0–15 as they are, the 6×6×6 cube and the grey ramp by nearest RGB.</summary>
    public static int Nearest16(int n)
    {
        if (n is >= 0 and < 16) return n;
        if (n is >= 16 and <= 231)
        {
            n -= 16;
            static int Level(int v) => v == 0 ? 0 : 55 + v * 40;
            return NearestOf(Level(n / 36), Level(n / 6 % 6), Level(n % 6));
        }
        if (n is >= 232 and <= 255)
        {
            var grey = 8 + (n - 232) * 10;
            return NearestOf(grey, grey, grey);
        }
        return 7;
    }

    public static int NearestOf(int r, int g, int b)
    {
        var best = 0;
        var bestDistance = int.MaxValue;
        for (var i = 0; i < Palette.Length; i++)
        {
            var (pr, pg, pb) = Palette[i];
            var d = (pr - r) * (pr - r) + (pg - g) * (pg - g) + (pb - b) * (pb - b);
            if (d < bestDistance) (best, bestDistance) = (i, d);
        }
        return best;
    }

    /// <summary>
    /// One line as HTML: every character HTML-encoded, coloured runs in &lt;span class="ansi-…"&gt;. Spans never cross
    /// the end of the line (the caller may wrap or hide lines one by one); <paramref name="style"/> carries the
    /// attributes on to the next line, as a terminal would (the classic builder's ESC[91m opens before a step's
    /// first stderr line and closes after its last). Sequences other than SGR (cursor moves, erase, titles) are dropped.
    /// </summary>
    public static string LineToHtml(string line, Style style)
    {
        var sb = new StringBuilder(line.Length + 32);
        var pos = 0;
        void Text(int end)
        {
            if (end <= pos) return;
            var encoded = WebUtility.HtmlEncode(line[pos..end]);
            if (style.IsPlain) sb.Append(encoded);
            else sb.Append("<span class=\"").Append(style.Classes()).Append("\">").Append(encoded).Append("</span>");
        }
        foreach (Match m in Sequence().Matches(line))
        {
            Text(m.Index);
            pos = m.Index + m.Length;
            // Group 1/2: an ESC-led CSI; group 3/4: a bare SGR fragment of an old log. Only SGR ("m") changes the style.
            if (m.Groups[2].Success && m.Groups[2].Value == "m") style.Apply(m.Groups[1].Value);
            else if (m.Groups[4].Success) style.Apply(m.Groups[3].Value);
        }
        Text(line.Length);
        return sb.ToString();
    }

    /// <summary>Text of one or more lines as HTML, the style carried across them.</summary>
    public static string ToHtml(string text)
    {
        var style = new Style();
        return string.Join('\n', text.Split('\n').Select(l => LineToHtml(l, style)));
    }
}
