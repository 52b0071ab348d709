using System.Net;
using System.Net.Sockets;
using VpsPanel.Features.Settings;

namespace VpsPanel.Features.Git;

/// <summary>
/// Where a Git URL may point. The panel fetches a URL a member typed, from inside the server's network, so without
/// this a URL aimed at Caddy's admin API, the panel itself, a cloud metadata address or a private network would turn
/// the panel into the member's proxy (SSRF). The host is judged after DNS resolution, every address it resolves to,
/// when the URL is saved and again right before each fetch (DNS can change in between); the fetch then connects to
/// the addresses that were judged (curl's resolve list), not to what a second lookup might say.
/// The operator can trust exact hosts (<c>Git:AllowedHosts</c>, a Git server on this machine) and private networks
/// (<c>Git:AllowPrivateNetworks</c>); local paths are the admin's business (see <see cref="GitCli.UrlProblem"/>).
/// </summary>
public sealed class GitHosts(IReadOnlyList<string> allowedHosts, bool allowPrivateNetworks)
{
    static readonly TimeSpan LookupTimeout = TimeSpan.FromSeconds(10);

    public static GitHosts From(PanelSettings s) => new(s.GitAllowedHosts, s.GitAllowPrivateNetworks);

    /// <summary>The host and port a network Git URL connects to; null for local paths (and for what is not a URL we accept).</summary>
    public static (string Host, int Port, bool Http)? TargetOf(string url)
    {
        if (url.StartsWith('/') || url.StartsWith("file://", StringComparison.Ordinal)) return null;
        if (GitCli.ScpLikeHost(url) is { } scpHost) return (scpHost.ToLowerInvariant(), 22, false);
        if (!Uri.TryCreate(url, UriKind.Absolute, out var u) || u.Scheme is not ("https" or "http" or "ssh")) return null;
        var host = u.HostNameType == UriHostNameType.IPv6 ? u.Host : u.IdnHost;
        return (host.ToLowerInvariant(), u.Port, u.Scheme != "ssh");
    }

    /// <summary>Whether the operator listed this host (any port) or host:port in Git:AllowedHosts.</summary>
    public bool IsAllowedHost(string host, int port) =>
        allowedHosts.Any(e => e.Equals(host, StringComparison.OrdinalIgnoreCase) || e.Equals($"{host}:{port}", StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// An access token may travel over plain http:// only to a Git server the operator listed that is on this very
    /// machine (a loopback address or localhost): then it never crosses a network. Anywhere else it would be sent in clear text.
    /// </summary>
    public bool MaySendTokenOverHttp(string url) =>
        TargetOf(url) is { Http: true } t && url.StartsWith("http://", StringComparison.Ordinal) && IsAllowedHost(t.Host, t.Port)
        && (t.Host == "localhost" || (IPAddress.TryParse(t.Host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip)));

    /// <summary>The message when a token would go out over http://, or null.</summary>
    public string? TokenProblem(string url) =>
        url.StartsWith("http://", StringComparison.Ordinal) && !MaySendTokenOverHttp(url)
            ? "An access token is sent only over https://: with this http:// URL it would cross the network in clear text. Use the repository's https:// URL."
            : null;

    /// <summary>
    /// Judges where a URL points. <paramref name="atFetch"/>: a name that does not resolve is refused (there is nothing
    /// to connect to); when saving it is let through, since DNS may not be set up yet and every fetch checks again.
    /// Returns the problem, or the addresses the fetch must use (empty for IP literals, local paths and allowed hosts).
    /// </summary>
    public async Task<(string? Problem, IPAddress[] Addresses)> CheckAsync(string url, bool atFetch, CancellationToken ct)
    {
        if (TargetOf(url) is not { } t) return (null, []);
        if (IsAllowedHost(t.Host, t.Port)) return (null, []);
        if (IPAddress.TryParse(t.Host.Trim('[', ']'), out var literal))
            return (AddressProblem(literal, allowPrivateNetworks) is { } why ? Refusal(t.Host, literal, why) : null, []);
        IPAddress[] addresses;
        using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct))
        {
            timeout.CancelAfter(LookupTimeout);
            try { addresses = await Dns.GetHostAddressesAsync(t.Host, timeout.Token); }
            catch (Exception e) when (e is SocketException || (e is OperationCanceledException && !ct.IsCancellationRequested))
            {
                return (atFetch ? $"the Git server's name {t.Host} could not be resolved (DNS)" : null, []);
            }
        }
        foreach (var a in addresses)
            if (AddressProblem(a, allowPrivateNetworks) is { } why) return (Refusal(t.Host, a, why), []);
        if (addresses.Length == 0 && atFetch) return ($"the Git server's name {t.Host} could not be resolved (DNS)", []);
        return (null, addresses);
    }

    static string Refusal(string host, IPAddress a, string why) =>
        (IPAddress.TryParse(host.Trim('[', ']'), out _) ? $"The Git URL points at {a}, {why}" : $"The Git URL's host {host} resolves to {a}, {why}") +
        ". The panel does not fetch from there. (A Git server on this machine: the operator lists it in the setting Git:AllowedHosts.)";

    const string GitPrivateHint = "the operator can allow private networks with the setting Git:AllowPrivateNetworks";

    /// <summary>
    /// Why the panel must not connect to this address, or null when it may. Also judges where notifications go
    /// (Notifications/NotifyAddress): there an admin's per-channel switch allows private networks and loopback
    /// (<paramref name="allowLoopback"/>), and <paramref name="privateHint"/> names that switch instead of the Git setting.
    /// Link-local, metadata, unspecified and multicast addresses are refused whatever is allowed.
    /// </summary>
    public static string? AddressProblem(IPAddress a, bool allowPrivateNetworks, bool allowLoopback = false, string privateHint = GitPrivateHint)
    {
        string? Again(IPAddress inner) => AddressProblem(inner, allowPrivateNetworks, allowLoopback, privateHint);
        string? Private(string range) => allowPrivateNetworks ? null : $"a private network address ({range}; {privateHint})";
        if (a.IsIPv4MappedToIPv6) return Again(a.MapToIPv4()) is { } m ? $"an IPv4-mapped form of {a.MapToIPv4()}: {m}" : null;
        if (a.AddressFamily == AddressFamily.InterNetworkV6)
        {
            var b6 = a.GetAddressBytes();
            if (a.Equals(IPAddress.IPv6Any)) return "the unspecified address (it means this machine)";
            if (a.Equals(IPAddress.IPv6Loopback)) return allowLoopback ? null : "a loopback address (this machine)";
            if (a.Equals(IPAddress.Parse("fd00:ec2::254"))) return "a cloud metadata address";
            // IPv4 inside IPv6: IPv4-compatible ::a.b.c.d, NAT64 64:ff9b::/96 and 6to4 2002::/16 reach the IPv4 address they carry.
            if (b6.Take(12).All(x => x == 0) || (b6[0] == 0 && b6[1] == 0x64 && b6[2] == 0xff && b6[3] == 0x9b && b6.Skip(4).Take(8).All(x => x == 0)))
                return Again(new IPAddress(b6[12..16])) is { } m ? $"an IPv6 form of {new IPAddress(b6[12..16])}: {m}" : null;
            if (b6[0] == 0x20 && b6[1] == 0x02)
                return Again(new IPAddress(b6[2..6])) is { } m ? $"a 6to4 form of {new IPAddress(b6[2..6])}: {m}" : null;
            if (a.IsIPv6LinkLocal || (b6[0] == 0xfe && (b6[1] & 0xc0) == 0x80)) return "a link-local address";
            if (a.IsIPv6Multicast) return "a multicast address";
            if ((b6[0] & 0xfe) == 0xfc || a.IsIPv6SiteLocal) return Private("fc00::/7");
            return null;
        }
        var b = a.GetAddressBytes();
        if (b is [169, 254, 169, 254] or [100, 100, 100, 200]) return "a cloud metadata address";
        if (b[0] == 0) return "the unspecified address (0.0.0.0/8 means this machine)";
        if (b[0] == 127) return allowLoopback ? null : "a loopback address (this machine)";
        if (b[0] == 169 && b[1] == 254) return "a link-local address";
        if (b[0] >= 224) return "a multicast, broadcast or reserved address";
        if (b[0] == 10) return Private("10.0.0.0/8");
        if (b[0] == 172 && (b[1] & 0xf0) == 16) return Private("172.16.0.0/12");
        if (b[0] == 192 && b[1] == 168) return Private("192.168.0.0/16");
        if (b[0] == 100 && (b[1] & 0xc0) == 64) return Private("100.64.0.0/10");
        return null;
    }

    /// <summary>
    /// git's "-c http.curloptResolve=host:port:addr,…": curl connects to exactly the addresses that were judged,
    /// so a DNS answer that changes between the check and the connection (rebinding) is never used.
    /// </summary>
    public static IEnumerable<string> PinnedResolve(string url, IPAddress[] addresses) =>
        TargetOf(url) is { Http: true } t && addresses.Length > 0
            ? ["-c", $"http.curloptResolve={t.Host}:{t.Port}:{string.Join(',', addresses.Select(a => a.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{a}]" : a.ToString()))}"]
            : [];

    /// <summary>One entry of Git:AllowedHosts: a host name or IP address, optionally with :port ([v6]:port).</summary>
    public static bool IsValidAllowedHost(string entry)
    {
        var host = entry;
        var colon = entry.LastIndexOf(':');
        if (colon > 0 && (!entry.StartsWith('[') || entry[colon - 1] == ']'))
        {
            if (!int.TryParse(entry[(colon + 1)..], System.Globalization.NumberStyles.None, null, out var port) || port is < 1 or > 65535) return false;
            host = entry[..colon];
        }
        if (host.StartsWith('[')) return host.EndsWith(']') && IPAddress.TryParse(host[1..^1], out var v6) && v6.AddressFamily == AddressFamily.InterNetworkV6;
        return Uri.CheckHostName(host) is UriHostNameType.Dns or UriHostNameType.IPv4 && !host.StartsWith('-');
    }

    /// <summary>The setting's value split into entries (commas or spaces), lower-cased.</summary>
    public static List<string> ParseAllowedHosts(string value) =>
        value.Split([',', ' ', ';'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(e => e.ToLowerInvariant()).ToList();
}
