using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace VpsPanel.Features.Webhooks;

public enum Provider { GitHub, GitLab, Gitea, Forgejo, Bitbucket }

/// <summary>One ref a push moved: a branch or a tag, the commit it now points at, or a deletion.</summary>
public sealed record PushedRef(bool IsTag, string Name, string? CommitSha, string? CommitMessage, string? CommitAuthor, bool Deleted);

/// <summary>
/// What a delivery is: a ping, a push (with the refs it moved), or something we accept and ignore. A push also says
/// the repository's default branch where the host sends it (GitHub, Gitea, Forgejo, GitLab; not Bitbucket).
/// </summary>
public sealed record WebhookEvent(string Kind, IReadOnlyList<PushedRef> Refs, string? IgnoredBecause = null, string? DefaultBranch = null)
{
    public const string Ping = "ping";
    public const string Push = "push";
    public const string Other = "other";
}

/// <summary>
/// Reading a webhook delivery: which provider sent it (from its headers), whether its signature is right
/// (constant-time, over the raw body), its delivery id, and what it says. Pure functions, no I/O.
/// </summary>
public static class WebhookMessage
{
    public const string ZeroSha = "0000000000000000000000000000000000000000";

    /// <summary>The provider, from the headers only it sends. Forgejo also sends Gitea's headers, so it is checked first.</summary>
    public static Provider? DetectProvider(IHeaderDictionary h) =>
        h.ContainsKey("X-GitHub-Event") ? Provider.GitHub
        : h.ContainsKey("X-Gitlab-Event") ? Provider.GitLab
        : h.ContainsKey("X-Forgejo-Event") || h.ContainsKey("X-Forgejo-Signature") ? Provider.Forgejo
        : h.ContainsKey("X-Gitea-Event") || h.ContainsKey("X-Gitea-Signature") ? Provider.Gitea
        : h.ContainsKey("X-Event-Key") ? Provider.Bitbucket
        : null;

    public static string EventName(Provider p, IHeaderDictionary h) => (p switch
    {
        Provider.GitHub => h["X-GitHub-Event"].ToString(),
        Provider.GitLab => h["X-Gitlab-Event"].ToString(),
        Provider.Forgejo => h.ContainsKey("X-Forgejo-Event") ? h["X-Forgejo-Event"].ToString() : h["X-Gitea-Event"].ToString(),
        Provider.Gitea => h["X-Gitea-Event"].ToString(),
        Provider.Bitbucket => h["X-Event-Key"].ToString(),
        _ => "",
    }).Trim();

    public static string? DeliveryId(Provider p, IHeaderDictionary h)
    {
        var v = (p switch
        {
            Provider.GitHub => h["X-GitHub-Delivery"].ToString(),
            Provider.GitLab => h["X-Gitlab-Event-UUID"].ToString(),
            Provider.Forgejo => h.ContainsKey("X-Forgejo-Delivery") ? h["X-Forgejo-Delivery"].ToString() : h["X-Gitea-Delivery"].ToString(),
            Provider.Gitea => h["X-Gitea-Delivery"].ToString(),
            Provider.Bitbucket => h["X-Request-UUID"].ToString(),
            _ => "",
        }).Trim();
        return v.Length is > 0 and <= 200 ? v : null;
    }

    /// <summary>Null when the signature is right; otherwise why not (for the delivery log).</summary>
    public static string? SignatureProblem(Provider p, IHeaderDictionary h, byte[] body, string secret)
    {
        var key = Encoding.UTF8.GetBytes(secret);
        switch (p)
        {
            case Provider.GitLab:
                // GitLab sends the secret itself, not a signature.
                var sent = h["X-Gitlab-Token"].ToString();
                if (sent.Length == 0) return "missing X-Gitlab-Token header";
                return CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(sent), key) ? null : "X-Gitlab-Token does not match the project's secret";
            case Provider.GitHub:
                return CheckHmac(h, "X-Hub-Signature-256", "sha256=", body, key);
            case Provider.Bitbucket:
                return CheckHmac(h, "X-Hub-Signature", "sha256=", body, key);
            case Provider.Forgejo:
                return h.ContainsKey("X-Forgejo-Signature") ? CheckHmac(h, "X-Forgejo-Signature", "", body, key) : CheckHmac(h, "X-Gitea-Signature", "", body, key);
            case Provider.Gitea:
                return CheckHmac(h, "X-Gitea-Signature", "", body, key);
            default:
                return "unknown provider";
        }
    }

    static string? CheckHmac(IHeaderDictionary h, string header, string prefix, byte[] body, byte[] key)
    {
        var value = h[header].ToString().Trim();
        if (value.Length == 0) return $"missing {header} header";
        if (!value.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)) return $"{header} is not of the form {prefix}<hex>";
        byte[] given;
        try { given = Convert.FromHexString(value[prefix.Length..]); }
        catch (FormatException) { return $"{header} is not hex"; }
        var expected = HMACSHA256.HashData(key, body);
        return CryptographicOperations.FixedTimeEquals(given, expected) ? null : "signature mismatch";
    }

    /// <summary>Parses the body of a delivery. Throws <see cref="JsonException"/> on malformed JSON.</summary>
    public static WebhookEvent Parse(Provider p, string eventName, byte[] body)
    {
        var json = JsonNode.Parse(body) ?? throw new JsonException("the body is JSON null");
        if (json is not JsonObject o) throw new JsonException("the body is not a JSON object");
        var ev = Of(p, eventName, o);
        return ev.Kind == WebhookEvent.Push ? ev with { DefaultBranch = DefaultBranchOf(p, o) } : ev;
    }

    /// <summary>repository.default_branch (GitHub, Gitea, Forgejo) or project.default_branch (GitLab); null when absent or not a string.</summary>
    static string? DefaultBranchOf(Provider p, JsonObject o) =>
        o[p == Provider.GitLab ? "project" : "repository"] is JsonObject r && r["default_branch"] is JsonValue v && v.TryGetValue<string>(out var name) && name != "" ? name : null;

    static WebhookEvent Of(Provider p, string eventName, JsonObject o)
    {
        return p switch
        {
            Provider.GitHub => eventName switch
            {
                "ping" => new WebhookEvent(WebhookEvent.Ping, []),
                "push" => new WebhookEvent(WebhookEvent.Push, [GitStylePush(o)]),
                _ => new WebhookEvent(WebhookEvent.Other, [], $"event {eventName} is not a push"),
            },
            Provider.Gitea or Provider.Forgejo => eventName switch
            {
                "push" => new WebhookEvent(WebhookEvent.Push, [GitStylePush(o)]),
                // Gitea sends branch/tag deletion as its own event.
                "delete" => new WebhookEvent(WebhookEvent.Other, [], $"a {(string?)o["ref_type"] ?? "ref"} was deleted"),
                _ => new WebhookEvent(WebhookEvent.Other, [], $"event {eventName} is not a push"),
            },
            Provider.GitLab => eventName switch
            {
                "Push Hook" or "Tag Push Hook" => new WebhookEvent(WebhookEvent.Push, [GitStylePush(o)]),
                _ => new WebhookEvent(WebhookEvent.Other, [], $"event {eventName} is not a push"),
            },
            Provider.Bitbucket => eventName switch
            {
                "repo:push" => new WebhookEvent(WebhookEvent.Push, BitbucketPush(o)),
                "diagnostics:ping" => new WebhookEvent(WebhookEvent.Ping, []),
                _ => new WebhookEvent(WebhookEvent.Other, [], $"event {eventName} is not a push"),
            },
            _ => new WebhookEvent(WebhookEvent.Other, [], "unknown provider"),
        };
    }

    /// <summary>GitHub, Gitea, Forgejo and GitLab share the shape: ref, after, commits/head_commit.</summary>
    static PushedRef GitStylePush(JsonObject o)
    {
        var refName = (string?)o["ref"] ?? throw new JsonException("the push has no \"ref\"");
        var after = (string?)o["after"];
        var deleted = o["deleted"]?.GetValueKind() == JsonValueKind.True || after is null || after == ZeroSha;
        var isTag = refName.StartsWith("refs/tags/", StringComparison.Ordinal);
        var name = refName.StartsWith("refs/heads/", StringComparison.Ordinal) ? refName["refs/heads/".Length..]
            : isTag ? refName["refs/tags/".Length..] : refName;
        // The commit that is now at the tip: GitHub/Gitea's head_commit, else the commit list entry for `after`.
        var head = o["head_commit"] as JsonObject
            ?? (o["commits"] as JsonArray)?.OfType<JsonObject>().FirstOrDefault(c => (string?)c["id"] == after)
            ?? (o["commits"] as JsonArray)?.OfType<JsonObject>().LastOrDefault();
        var author = head?["author"] is JsonObject a ? (string?)a["name"] ?? (string?)a["username"] : null;
        return new PushedRef(isTag, name, deleted ? null : after, (string?)head?["message"], author, deleted);
    }

    static List<PushedRef> BitbucketPush(JsonObject o)
    {
        var changes = o["push"]?["changes"] as JsonArray ?? throw new JsonException("the push has no push.changes");
        var refs = new List<PushedRef>();
        foreach (var change in changes.OfType<JsonObject>())
        {
            if (change["new"] is JsonObject n)
            {
                var target = n["target"] as JsonObject;
                var raw = (string?)target?["author"]?["raw"];
                refs.Add(new PushedRef((string?)n["type"] == "tag", (string?)n["name"] ?? "", (string?)target?["hash"], (string?)target?["message"], raw, false));
            }
            else if (change["old"] is JsonObject old)
                refs.Add(new PushedRef((string?)old["type"] == "tag", (string?)old["name"] ?? "", null, null, null, true));
        }
        return refs;
    }
}
