using System.Net;
using System.Text;
using VpsPanel.Features.Docker;
using VpsPanel.Features.Shared;

namespace VpsPanel.Features.Deployments;

/// <summary>
/// The stored log (timestamped lines that keep the output's ANSI escapes, see <see cref="DeployLog"/>) as the page
/// shows it and as the API and the download give it out. The page: colours as CSS classes, the timestamp dimmed,
/// builder chatter (<see cref="BuildChatter"/>) in a span the "builder output" toggle shows or hides. Text: the same
/// lines with every escape removed, the chatter left out only on request.
/// </summary>
public static class LogView
{
    /// <summary>Log lines as HTML for the &lt;pre&gt; of the deployment page (also its live stream and "load earlier").</summary>
    public static string Html(string text)
    {
        var sb = new StringBuilder(text.Length + text.Length / 4);
        var style = new Ansi.Style();
        foreach (var line in Lines(text))
        {
            var chatter = BuildChatter.IsChatter(line);
            var stamp = BuildChatter.StampLength(line);
            // Each line its own element, so the stream's chunks and "load earlier" can be inserted without re-rendering.
            sb.Append(chatter ? "<span class=\"ln chatter\">" : "<span class=\"ln\">");
            if (stamp > 0) sb.Append("<span class=\"ts\">").Append(WebUtility.HtmlEncode(line[..stamp])).Append("</span>");
            sb.Append(Ansi.LineToHtml(line[stamp..], style)).Append("\n</span>");
        }
        return sb.ToString();
    }

    /// <summary>One line of the log as the API and the download give it: no escapes; null when chatter is left out.</summary>
    public static string? LineText(string line, bool withChatter = true) =>
        !withChatter && BuildChatter.IsChatter(line) ? null : Ansi.Strip(line);

    /// <summary>Log lines as text, escapes removed (and chatter left out when asked).</summary>
    public static string Text(string text, bool withChatter) =>
        string.Concat(Lines(text).Select(l => LineText(l, withChatter)).Where(l => l is not null).Select(l => l + "\n"));

    static IEnumerable<string> Lines(string text) => text.TrimEnd('\n').Split('\n').Where(l => l.Length > 0);
}
