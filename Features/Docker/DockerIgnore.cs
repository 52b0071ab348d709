using System.Text;
using System.Text.RegularExpressions;

namespace VpsPanel.Features.Docker;

/// <summary>A pattern that is not valid; <see cref="Line"/> is 1-based, as an editor shows it.</summary>
public sealed class IgnorePatternException(int line, string pattern, string reason)
    : Exception($"line {line}: \"{pattern}\" is not a valid pattern ({reason})")
{
    public int Line { get; } = line;
}

/// <summary>
/// `.dockerignore` as Docker reads it (moby's ignorefile + patternmatcher, the rules `docker build` applies), written
/// here so the context the panel sends is the one the CLI would send:
/// <list type="bullet">
/// <item>a line starting with # is a comment (only in the first column); blank lines are skipped; each line is
/// trimmed, and `!` marks an exception;</item>
/// <item>a pattern is cleaned like a path (`./a`, `a/`, `/a`, `a//b` all mean `a`) and matched against the path
/// relative to the context, with Go's filepath.Match wildcards (`*` and `?` never cross a `/`, `[a-z]`, `[^a-z]`,
/// `\` escapes the next character) plus `**`, any number of directories (also none);</item>
/// <item>a pattern that matches a directory matches everything in it; the last pattern that matches decides, so an
/// exception re-includes what an earlier pattern excluded, and a later pattern excludes it again.</item>
/// </list>
/// The same matcher judges a project's watch paths (Deployments/WatchPaths): there "excluded" reads "matched".
/// </summary>
public sealed class DockerIgnore
{
    /// <summary>The largest ignore file the panel reads: a real one is a few hundred bytes; 1 MB is far past any of them.</summary>
    public const int MaxBytes = 1024 * 1024;

    sealed record Rule(Regex? Pattern, string? EndsWith, string Text, bool Exception, string LiteralPrefix);

    readonly List<Rule> _rules;

    DockerIgnore(List<Rule> rules) => _rules = rules;

    public static readonly DockerIgnore Empty = new([]);

    public bool IsEmpty => _rules.Count == 0;
    public bool HasExceptions => _rules.Any(r => r.Exception);
    public IEnumerable<string> Patterns => _rules.Select(r => (r.Exception ? "!" : "") + r.Text);

    /// <summary>Reads the text of an ignore file (or of watch paths, one per line); throws <see cref="IgnorePatternException"/> for a bad line.</summary>
    public static DockerIgnore Parse(string text)
    {
        var rules = new List<Rule>();
        var lines = text.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].TrimEnd('\r');
            if (i == 0) line = line.TrimStart('\uFEFF');
            // As Docker does: a comment only when # is the very first character; " #x" is a pattern.
            if (line.StartsWith('#')) continue;
            var p = line.Trim();
            if (p == "") continue;
            var exception = p[0] == '!';
            if (exception) p = p[1..].Trim();
            if (p != "")
            {
                p = CleanPath(p);
                if (p.Length > 1 && p[0] == '/') p = p[1..];
            }
            if (exception && p == "") throw new IgnorePatternException(i + 1, line.Trim(), "a lone \"!\" excepts nothing");
            rules.Add(Compile(p, exception, i + 1, line.Trim()));
        }
        return new DockerIgnore(rules);
    }

    /// <summary>This matcher with exceptions for these exact paths added last (they are always kept, whatever matched before).</summary>
    public DockerIgnore WithKept(IEnumerable<string> paths) =>
        new([.. _rules, .. paths.Select(p => Compile(EscapeLiteral(p), true, 0, "!" + p))]);

    /// <summary>
    /// Whether the path (relative to the context, '/'-separated) is excluded: the last rule matching it or one of its
    /// parent directories decides. Rules are skipped when they could not change the answer so far (an exclusion once
    /// excluded, an exception while included), as Docker does.
    /// </summary>
    public bool IsExcluded(string path)
    {
        if (path is "" or ".") return false;
        var matched = false;
        foreach (var r in _rules)
        {
            if (r.Exception != matched) continue;
            if (Matches(r, path) || ParentMatches(r, path)) matched = !r.Exception;
        }
        return matched;
    }

    static bool ParentMatches(Rule r, string path)
    {
        for (var slash = path.IndexOf('/'); slash > 0; slash = path.IndexOf('/', slash + 1))
            if (Matches(r, path[..slash])) return true;
        return false;
    }

    static bool Matches(Rule r, string path)
    {
        if (r.EndsWith is { } suffix)
            return path.EndsWith(suffix, StringComparison.Ordinal) || (suffix.StartsWith('/') && path == suffix[1..]);
        return r.Pattern!.IsMatch(path);
    }

    /// <summary>
    /// Whether an exception could re-include something inside this excluded directory, so it must be walked rather
    /// than left out whole. Judged by the exception's literal start (before its first wildcard): `!docs/keep.md` can
    /// only reach inside docs, `!**/*.md` anywhere. (Docker 20.10's CLI skipped a directory unless an exception
    /// started with its name, so it missed `docs` + `!**/*.md`; newer Docker walks in, as this does.)
    /// </summary>
    public bool CouldReinclude(string dir)
    {
        var d = dir + "/";
        return _rules.Any(r => r.Exception && (r.LiteralPrefix.StartsWith(d, StringComparison.Ordinal) || d.StartsWith(r.LiteralPrefix, StringComparison.Ordinal)));
    }

    /// <summary>Go's filepath.Clean for '/'-separated paths: no empty or "." segments, ".." resolved where it can be, no trailing slash.</summary>
    public static string CleanPath(string p)
    {
        var rooted = p.StartsWith('/');
        var parts = new List<string>();
        foreach (var seg in p.Split('/'))
        {
            if (seg is "" or ".") continue;
            if (seg == ".." && parts.Count > 0 && parts[^1] != "..") parts.RemoveAt(parts.Count - 1);
            else if (seg == ".." && rooted) continue;
            else parts.Add(seg);
        }
        var s = string.Join('/', parts);
        return rooted ? "/" + s : s == "" ? "." : s;
    }

    static string EscapeLiteral(string path)
    {
        var sb = new StringBuilder();
        foreach (var ch in path)
        {
            if (ch is '*' or '?' or '[' or ']' or '\\') sb.Append('\\');
            sb.Append(ch);
        }
        return sb.ToString();
    }

    /// <summary>
    /// The pattern as a regular expression of our own making. A pattern that starts with ** and has no other wildcard
    /// is matched as "ends with" (so `**.log` matches `a.log` and `dir/b.log`), as Docker's matcher does.
    /// </summary>
    static Rule Compile(string p, bool exception, int line, string text)
    {
        var re = new StringBuilder("^");
        var literalPrefix = new StringBuilder();
        var literal = true;
        var i = 0;
        void Bad(string reason) => throw new IgnorePatternException(line, text, reason);
        while (i < p.Length)
        {
            var ch = p[i++];
            switch (ch)
            {
                case '*' when i < p.Length && p[i] == '*':
                    i++;
                    if (i < p.Length && p[i] == '/') i++;
                    // "**" at the end takes everything below; elsewhere any number of whole directories, even none.
                    re.Append(i == p.Length ? ".*" : "(?:.*/)?");
                    literal = false;
                    break;
                case '*':
                    re.Append("[^/]*");
                    literal = false;
                    break;
                case '?':
                    re.Append("[^/]");
                    literal = false;
                    break;
                case '\\':
                    if (i == p.Length) Bad("it ends with a \\ that escapes nothing");
                    if (literal) literalPrefix.Append(p[i]);
                    re.Append(Regex.Escape(p[i++].ToString()));
                    break;
                case '[':
                    i = CompileClass(p, i, re, Bad);
                    literal = false;
                    break;
                default:
                    if (literal) literalPrefix.Append(ch);
                    re.Append(Regex.Escape(ch.ToString()));
                    break;
            }
        }
        re.Append('$');
        if (p.StartsWith("**") && p[2..].IndexOfAny(['*', '?', '[', ']', '\\']) < 0)
            return new Rule(null, p[2..], p, exception, "");
        return new Rule(new Regex(re.ToString(), RegexOptions.CultureInvariant | RegexOptions.Singleline), null, p, exception, literalPrefix.ToString());
    }

    /// <summary>A character class from just after its '[': `[abc]`, `[a-z]`, `[^a-z]`, `\` escapes; returns the index after its ']'.</summary>
    static int CompileClass(string p, int i, StringBuilder re, Action<string> bad)
    {
        re.Append('[');
        if (i < p.Length && p[i] == '^')
        {
            re.Append('^');
            i++;
        }
        var ranges = 0;
        while (true)
        {
            if (i >= p.Length) { bad("a [ without its closing ]"); return i; }
            if (p[i] == ']' && ranges > 0)
            {
                re.Append(']');
                return i + 1;
            }
            var lo = ClassChar(p, ref i, bad);
            var hi = lo;
            if (i < p.Length && p[i] == '-')
            {
                i++;
                hi = ClassChar(p, ref i, bad);
                if (hi < lo) bad($"the range {lo}-{hi} is backwards");
            }
            re.Append($"\\u{(int)lo:X4}");
            if (hi != lo) re.Append($"-\\u{(int)hi:X4}");
            ranges++;
        }
    }

    /// <summary>One character of a class: '-' and ']' must be escaped where they would be read as syntax, as Go's filepath.Match requires.</summary>
    static char ClassChar(string p, ref int i, Action<string> bad)
    {
        if (i >= p.Length) { bad("a [ without its closing ]"); return ' '; }
        var ch = p[i];
        if (ch is '-' or ']') { bad($"an unescaped '{ch}' inside [ ]"); return ' '; }
        if (ch == '\\')
        {
            i++;
            if (i >= p.Length) { bad("a [ without its closing ]"); return ' '; }
            ch = p[i];
        }
        i++;
        return ch;
    }
}
