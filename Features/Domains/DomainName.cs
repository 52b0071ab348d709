using System.Globalization;
using System.Net;

namespace VpsPanel.Features.Domains;

/// <summary>
/// The one gate every domain passes before it can reach a Caddyfile. It returns the canonical form
/// (lower-case ASCII, internationalised names as punycode) or a message that says what is wrong.
/// The grammar is strict on purpose: a brace, a newline or a space in a domain is an error, never config.
/// </summary>
public static class DomainName
{
    public const int MaxLength = 253;
    const int MaxLabelLength = 63;
    static readonly IdnMapping Idn = new() { AllowUnassigned = false, UseStd3AsciiRules = true };

    public sealed record Result(string? Domain, string? Error)
    {
        public bool Ok => Error is null;
    }

    /// <summary>
    /// Validates and canonicalises one domain. <paramref name="allowIpLiteral"/> is for "HTTP only" sites,
    /// where an IP address is a fine thing to serve on; with automatic HTTPS it is not.
    /// </summary>
    public static Result Normalize(string? input, bool allowIpLiteral = false)
    {
        var raw = input ?? "";
        if (raw.Trim().Length == 0) return Fail("Enter a domain, like app.example.com.");
        if (raw.Any(c => char.IsControl(c)))
            return Fail($"\"{Show(raw)}\" contains a line break or control character; enter one domain per line.");
        var s = raw.Trim();
        if (s.Contains("://") || s.Contains('/'))
            return Fail($"\"{Show(s)}\": enter the domain alone, without http:// or a path (e.g. app.example.com).");
        if (s.Length > MaxLength) return Fail($"\"{Show(s)}\" is longer than {MaxLength} characters.");
        if (IPAddress.TryParse(s.Trim('[', ']'), out var ip) && (s.All(c => char.IsAsciiDigit(c) || c == '.') || s.Contains(':')))
        {
            if (!allowIpLiteral) return Fail($"\"{Show(s)}\" is an IP address; HTTPS certificates need a domain name. Mark it \"HTTP only\" to serve it on an IP.");
            return new Result(ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{ip}]" : ip.ToString(), null);
        }
        if (s.IndexOfAny(['{', '}', '"', '\'', '`', '\\', ';', '#', '$', '(', ')', '<', '>', '|', '&', ',', '@', '=', '%', '!', '?', '^', '~', '[', ']', '_', '+']) >= 0)
            return Fail($"\"{Show(s)}\" contains characters that are not allowed in a domain.");
        if (s.Any(char.IsWhiteSpace)) return Fail($"\"{Show(s)}\" contains a space; a domain cannot.");
        if (s.Contains(':')) return Fail($"\"{Show(s)}\": enter the domain without a port.");
        if (s is "*" or "*.") return Fail($"\"{Show(s)}\" needs a domain after the wildcard, as in *.example.com.");

        s = s.TrimEnd('.').ToLowerInvariant();
        var wildcard = s.StartsWith("*.", StringComparison.Ordinal);
        var rest = wildcard ? s[2..] : s;
        if (rest.Contains('*')) return Fail($"\"{Show(s)}\": a wildcard can only be the whole first label, as in *.example.com.");
        if (rest.Length == 0) return Fail($"\"{Show(s)}\" needs a domain after the wildcard, as in *.example.com.");

        // Checked before IDN conversion too, which would only say "invalid" for these.
        foreach (var label in rest.Split('.'))
        {
            if (label.Length == 0) return Fail($"\"{Show(s)}\" has an empty label (two dots in a row, or a dot at the start).");
            if (label.Length > MaxLabelLength) return Fail($"\"{Show(s)}\" has a label longer than {MaxLabelLength} characters.");
        }
        string ascii;
        try { ascii = Idn.GetAscii(rest); }
        catch (ArgumentException) { return Fail($"\"{Show(s)}\" is not a valid domain name (check for empty labels like \"a..com\", or labels that start or end with a hyphen)."); }

        var labels = ascii.Split('.');
        if (labels.Length < 2) return Fail($"\"{Show(s)}\" needs at least two labels, like example.com.");
        foreach (var label in labels)
        {
            if (label.Length == 0) return Fail($"\"{Show(s)}\" has an empty label (two dots in a row, or a dot at the start).");
            if (label.Length > MaxLabelLength) return Fail($"\"{Show(s)}\" has a label longer than {MaxLabelLength} characters.");
            if (label.StartsWith('-') || label.EndsWith('-')) return Fail($"\"{Show(s)}\": a label cannot start or end with a hyphen.");
            if (!label.All(c => char.IsAsciiLetterOrDigit(c) || c == '-')) return Fail($"\"{Show(s)}\" contains characters that are not allowed in a domain.");
        }
        if (labels[^1].All(char.IsAsciiDigit)) return Fail($"\"{Show(s)}\": the last label cannot be all digits.");
        var result = (wildcard ? "*." : "") + ascii;
        if (result.Length > MaxLength) return Fail($"\"{Show(s)}\" is longer than {MaxLength} characters.");
        return new Result(result, null);
    }

    static Result Fail(string message) => new(null, message);

    /// <summary>
    /// The www./apex counterpart of a canonical domain: www.example.com for example.com and example.com for
    /// www.example.com. Null for wildcards, IP literals, and when the counterpart would not be a valid domain.
    /// </summary>
    public static string? WwwCounterpart(string domain)
    {
        if (domain.StartsWith("*.", StringComparison.Ordinal) || IsIpLiteral(domain)) return null;
        var other = domain.StartsWith("www.", StringComparison.Ordinal) ? domain[4..] : "www." + domain;
        return Normalize(other).Domain == other ? other : null;
    }

    /// <summary>Whether a canonical name is an IP address ([v6] or dotted IPv4), as <see cref="Normalize"/> writes them.</summary>
    public static bool IsIpLiteral(string domain) => domain.StartsWith('[') || domain.All(c => char.IsAsciiDigit(c) || c == '.');

    /// <summary>Whether a canonical host is matched by a canonical site name (itself, or a wildcard one label deep).</summary>
    public static bool Matches(string siteName, string host) =>
        siteName == host || (siteName.StartsWith("*.", StringComparison.Ordinal) && host.EndsWith(siteName[1..], StringComparison.Ordinal)
                             && host.IndexOf('.') == host.Length - siteName.Length + 1);

    /// <summary>Input echoed in a message: control characters made visible and length capped, so the message stays one readable line.</summary>
    internal static string Show(string s)
    {
        var visible = new string(s.Select(c => char.IsControl(c) ? '␤' : c).ToArray());
        return visible.Length > 80 ? visible[..77] + "…" : visible;
    }
}
