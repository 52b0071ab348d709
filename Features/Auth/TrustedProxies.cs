using System.Net;
using Microsoft.AspNetCore.HttpOverrides;
using VpsPanel.Features.Settings;

namespace VpsPanel.Features.Auth;

/// <summary>
/// Which proxies' X-Forwarded-For / X-Forwarded-Proto the panel believes (setting Panel:TrustedProxies, default
/// loopback, where install.sh puts Caddy). The client address they give is what the sign-in limits count and what
/// sessions record, so a header from anyone else is ignored: otherwise any client could name a new address per
/// attempt (issue 11, finding 7). Only the last hop is read: the one the trusted proxy itself appended.
/// </summary>
public static class TrustedProxies
{
    public static bool IsValidList(string value) => Parse(value) is not null;

    /// <summary>The addresses and networks of a comma-separated list, or null when an entry is neither.</summary>
    static (List<IPAddress> Addresses, List<System.Net.IPNetwork> Networks)? Parse(string value)
    {
        var addresses = new List<IPAddress>();
        var networks = new List<System.Net.IPNetwork>();
        foreach (var entry in value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (entry.Contains('/') && System.Net.IPNetwork.TryParse(entry, out var n)) networks.Add(n);
            else if (!entry.Contains('/') && IPAddress.TryParse(entry, out var a)) addresses.Add(a);
            else return null;
        }
        return (addresses, networks);
    }

    public static ForwardedHeadersOptions ForwardedHeadersOptions(PanelSettings settings)
    {
        var o = new ForwardedHeadersOptions
        {
            ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto,
            ForwardLimit = 1,
        };
        // The defaults (loopback) are replaced by the setting, never added to.
        o.KnownProxies.Clear();
        o.KnownIPNetworks.Clear();
        var (addresses, networks) = Parse(settings.TrustedProxies)!.Value;
        foreach (var a in addresses) o.KnownProxies.Add(a);
        foreach (var n in networks) o.KnownIPNetworks.Add(n);
        return o;
    }
}
