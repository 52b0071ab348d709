using System.Text.Json;
using System.Text.Json.Nodes;
using VpsPanel.Features.Domains;
using VpsPanel.Features.Webhooks;

namespace VpsPanel.Features.Previews;

/// <summary>
/// One pull/merge request event, the same for every Git host: what happened (<see cref="Action"/> is one of
/// <see cref="Opened"/>, <see cref="Updated"/>, <see cref="Closed"/>, <see cref="Reopened"/>), which request, and the
/// commit to deploy. <see cref="FromFork"/> is true when the head lives in another repository than the base (or the
/// host no longer knows the head repository): such a request gets no secrets unless the owner allows forks.
/// <para><see cref="HeadSha"/> is the commit as the host sends it. Bitbucket Cloud sends it abbreviated (12 hex digits,
/// an undocumented habit every Bitbucket integration trips on), so a deploy fetches <see cref="HeadRef"/> and checks the
/// fetched commit starts with it rather than fetching the id itself.</para>
/// <para><see cref="HeadCloneUrl"/> is empty when the head repository is gone (a deleted fork); GitHub, Gitea and
/// Forgejo still serve the commits from the base repository under refs/pull/&lt;number&gt;/head, GitLab under
/// refs/merge-requests/&lt;number&gt;/head.</para>
/// </summary>
public sealed record PullRequestEvent(string Action, int Number, string Title, string Author, string HeadSha, string HeadRef,
    string HeadCloneUrl, string BaseRef, string BaseCloneUrl, bool FromFork, string? WebUrl)
{
    public const string Opened = "opened";
    /// <summary>New commits on the request's branch.</summary>
    public const string Updated = "updated";
    /// <summary>Closed, merged, or (Bitbucket) declined.</summary>
    public const string Closed = "closed";
    public const string Reopened = "reopened";

    /// <summary>
    /// Reads a delivery's body as a pull/merge request event. <paramref name="eventName"/> is
    /// <see cref="WebhookMessage.EventName"/>; the signature is <see cref="WebhookMessage.SignatureProblem"/>'s to check
    /// first. Never throws on what a sender can put in the body: a bad body is <see cref="PullRequestParseKind.Malformed"/>
    /// with the field it lacks.
    /// </summary>
    public static PullRequestParse Parse(Provider p, string eventName, byte[] body)
    {
        var isPullRequestEvent = p switch
        {
            // Gitea and Forgejo send labels, assignees, milestones, review requests and new commits as "pull_request" too.
            Provider.GitHub or Provider.Gitea or Provider.Forgejo => eventName == "pull_request",
            Provider.GitLab => eventName == "Merge Request Hook",
            Provider.Bitbucket => eventName.StartsWith("pullrequest:", StringComparison.Ordinal),
            _ => false,
        };
        if (!isPullRequestEvent)
            return PullRequestParse.NotAPullRequest($"event {(eventName == "" ? "(none)" : DomainName.Show(eventName))} is not a {RequestWord(p)} event");

        JsonObject o;
        try
        {
            if (JsonNode.Parse(body) is not JsonObject obj) return PullRequestParse.Malformed("the body is not a JSON object");
            o = obj;
        }
        catch (JsonException e) { return PullRequestParse.Malformed($"the body is not JSON: {e.Message}"); }

        string? raw;
        try
        {
            raw = p switch
            {
                Provider.GitLab => Text(Obj(o, "object_attributes", "object_attributes"), "action", "object_attributes.action"),
                // Bitbucket names the action in the event key only.
                Provider.Bitbucket => eventName["pullrequest:".Length..],
                _ => Text(o, "action", "action"),
            };
        }
        catch (MissingField e) { return PullRequestParse.Malformed($"missing {e.Path}"); }
        if (raw is null or "") return PullRequestParse.Malformed(p == Provider.GitLab ? "missing object_attributes.action" : "missing action");

        var normalized = (p, raw) switch
        {
            (Provider.GitHub, "opened") or (Provider.Gitea or Provider.Forgejo, "opened") => Opened,
            (Provider.GitHub, "synchronize") or (Provider.Gitea or Provider.Forgejo, "synchronized") => Updated,
            (Provider.GitHub or Provider.Gitea or Provider.Forgejo, "closed") => Closed,
            (Provider.GitHub or Provider.Gitea or Provider.Forgejo, "reopened") => Reopened,
            (Provider.GitLab, "open") => Opened,
            // GitLab sends "update" for any change (title, labels, draft, assignees…); only a push sets oldrev.
            (Provider.GitLab, "update") => HasText(o["object_attributes"]?["oldrev"]) ? Updated : null,
            (Provider.GitLab, "close" or "merge") => Closed,
            (Provider.GitLab, "reopen") => Reopened,
            (Provider.Bitbucket, "created") => Opened,
            // Bitbucket sends "updated" for an edited title or description as well as for new commits, and says nothing
            // that tells them apart: a redeploy compares HeadSha with what is live.
            (Provider.Bitbucket, "updated") => Updated,
            (Provider.Bitbucket, "fulfilled" or "rejected") => Closed,
            _ => null,
        };
        if (normalized is null)
            return PullRequestParse.Ignored(p == Provider.GitLab && raw == "update"
                ? "the merge request was updated without new commits (no object_attributes.oldrev)"
                : $"{RequestWord(p)} action \"{DomainName.Show(raw)}\" changes nothing to deploy");

        try
        {
            var ev = p switch
            {
                Provider.GitLab => GitLab(o, normalized),
                Provider.Bitbucket => Bitbucket(o, normalized),
                _ => GitHubStyle(o, normalized),
            };
            if (ev.Number <= 0) return PullRequestParse.Malformed($"the request number {ev.Number} is not positive");
            if (!IsCommitId(ev.HeadSha)) return PullRequestParse.Malformed($"the head commit \"{DomainName.Show(ev.HeadSha)}\" is not a commit id");
            return new PullRequestParse(ev, null, PullRequestParseKind.Event);
        }
        catch (MissingField e) { return PullRequestParse.Malformed($"missing {e.Path}"); }
        // An array or a value where the hosts send an object (links, repository, …), indexed by name.
        catch (InvalidOperationException e) { return PullRequestParse.Malformed($"a field has the wrong type: {e.Message}"); }
    }

    /// <summary>The preview's host name: pr-&lt;number&gt;.&lt;project slug&gt;.&lt;wildcard base domain&gt;.</summary>
    public static string PreviewHost(int number, string projectSlug, string wildcardBase) => $"pr-{number}.{projectSlug}.{wildcardBase}";

    /// <summary>
    /// Null when <see cref="PreviewHost"/> gives a valid, canonical host name; otherwise why not, in words for the
    /// delivery log (no base domain set, a slug too long for one DNS label, …).
    /// </summary>
    public static string? PreviewHostProblem(int number, string projectSlug, string wildcardBase)
    {
        if (number <= 0) return $"the request number {number} is not positive";
        if (string.IsNullOrWhiteSpace(wildcardBase)) return "previews need a wildcard base domain; set one in Settings";
        if (string.IsNullOrWhiteSpace(projectSlug)) return "the project has no slug";
        var host = PreviewHost(number, projectSlug, wildcardBase);
        // Named here because DomainName's message cannot say which part to shorten.
        if (projectSlug.Split('.').Any(label => label.Length > 63))
            return $"the preview domain {DomainName.Show(host)} is not a valid host name: the project slug \"{DomainName.Show(projectSlug)}\" has {projectSlug.Length} characters and a DNS label holds at most 63";
        if (host.Length > DomainName.MaxLength)
            return $"the preview domain {DomainName.Show(host)} is not a valid host name: it has {host.Length} characters, at most {DomainName.MaxLength} are allowed";
        var checkedHost = DomainName.Normalize(host);
        if (checkedHost.Error is { } error) return $"the preview domain is not a valid host name: {error}";
        if (checkedHost.Domain != host) return $"the preview domain {DomainName.Show(host)} is not in canonical form (expected {checkedHost.Domain}); slugs and base domains are lower-case ASCII";
        return null;
    }

    // GitHub, Gitea and Forgejo: pull_request.{number,title,user,head,base,html_url}.
    static PullRequestEvent GitHubStyle(JsonObject o, string action)
    {
        var pr = Obj(o, "pull_request", "pull_request");
        var number = Int(pr, "number", "pull_request.number") ?? Int(o, "number", "number") ?? throw new MissingField("pull_request.number");
        var head = Obj(pr, "head", "pull_request.head");
        var bas = Obj(pr, "base", "pull_request.base");
        var headRepo = head["repo"] as JsonObject;
        var baseRepo = bas["repo"] as JsonObject;
        var baseName = (string?)baseRepo?["full_name"] ?? (string?)(o["repository"] as JsonObject)?["full_name"];
        // A deleted fork's request has head.repo null; that is a fork too (its commits are not the base's).
        var fromFork = headRepo is null || !string.Equals((string?)headRepo["full_name"], baseName, StringComparison.OrdinalIgnoreCase);
        var user = pr["user"] as JsonObject;
        return new PullRequestEvent(action, number,
            Text(pr, "title", "pull_request.title") ?? "",
            Text(user, "login", "pull_request.user.login") ?? Text(user, "username", "pull_request.user.username") ?? "",
            Required(head, "sha", "pull_request.head.sha"),
            Required(head, "ref", "pull_request.head.ref"),
            headRepo is null ? "" : Required(headRepo, "clone_url", "pull_request.head.repo.clone_url"),
            Required(bas, "ref", "pull_request.base.ref"),
            Text(baseRepo, "clone_url", "pull_request.base.repo.clone_url") ?? Required(o["repository"] as JsonObject, "clone_url", "pull_request.base.repo.clone_url"),
            fromFork,
            Text(pr, "html_url", "pull_request.html_url"));
    }

    // GitLab: object_attributes.{iid,title,source_branch,target_branch,source,target,last_commit,url}.
    static PullRequestEvent GitLab(JsonObject o, string action)
    {
        var mr = Obj(o, "object_attributes", "object_attributes");
        var source = mr["source"] as JsonObject;
        var sourceId = mr["source_project_id"]?.ToJsonString();
        var targetId = mr["target_project_id"]?.ToJsonString();
        // source_project_id is null once the source project is deleted: treated as a fork, like GitHub's head.repo null.
        var fromFork = sourceId is null or "null" || sourceId != (targetId ?? (o["project"] as JsonObject)?["id"]?.ToJsonString());
        return new PullRequestEvent(action,
            Int(mr, "iid", "object_attributes.iid") ?? throw new MissingField("object_attributes.iid"),
            Text(mr, "title", "object_attributes.title") ?? "",
            // The hook names the author by id only; "user" is who acted, which for "open" is the author.
            Text(o["user"] as JsonObject, "username", "user.username") ?? "",
            Required(mr["last_commit"] as JsonObject, "id", "object_attributes.last_commit.id"),
            Required(mr, "source_branch", "object_attributes.source_branch"),
            source is null ? "" : Required(source, "git_http_url", "object_attributes.source.git_http_url"),
            Required(mr, "target_branch", "object_attributes.target_branch"),
            Text(mr["target"] as JsonObject, "git_http_url", "object_attributes.target.git_http_url")
                ?? Required(o["project"] as JsonObject, "git_http_url", "object_attributes.target.git_http_url"),
            fromFork,
            Text(mr, "url", "object_attributes.url"));
    }

    // Bitbucket Cloud: pullrequest.{id,title,author,source,destination,links.html}.
    static PullRequestEvent Bitbucket(JsonObject o, string action)
    {
        var pr = Obj(o, "pullrequest", "pullrequest");
        var source = Obj(pr, "source", "pullrequest.source");
        var destination = Obj(pr, "destination", "pullrequest.destination");
        var sourceRepo = source["repository"] as JsonObject;
        var destinationRepo = destination["repository"] as JsonObject ?? o["repository"] as JsonObject;
        var fromFork = sourceRepo is null || !string.Equals((string?)sourceRepo["full_name"], (string?)destinationRepo?["full_name"], StringComparison.OrdinalIgnoreCase);
        var author = pr["author"] as JsonObject;
        return new PullRequestEvent(action,
            Int(pr, "id", "pullrequest.id") ?? throw new MissingField("pullrequest.id"),
            Text(pr, "title", "pullrequest.title") ?? "",
            Text(author, "nickname", "pullrequest.author.nickname") ?? Text(author, "display_name", "pullrequest.author.display_name") ?? "",
            Required(source["commit"] as JsonObject, "hash", "pullrequest.source.commit.hash"),
            Required(source["branch"] as JsonObject, "name", "pullrequest.source.branch.name"),
            sourceRepo is null ? "" : BitbucketCloneUrl(sourceRepo, "pullrequest.source.repository"),
            Required(destination["branch"] as JsonObject, "name", "pullrequest.destination.branch.name"),
            BitbucketCloneUrl(destinationRepo, "pullrequest.destination.repository"),
            fromFork,
            Text(pr["links"]?["html"] as JsonObject, "href", "pullrequest.links.html.href"));
    }

    /// <summary>Bitbucket's webhook repository names no clone URL; its HTTPS clone URL is the web page's with .git.</summary>
    static string BitbucketCloneUrl(JsonObject? repo, string path) =>
        Required(repo?["links"]?["html"] as JsonObject, "href", path + ".links.html.href").TrimEnd('/') + ".git";

    static string RequestWord(Provider p) => p switch
    {
        Provider.GitLab => "merge request",
        Provider.Bitbucket => "pull request (pullrequest:…)",
        _ => "pull request",
    };

    static bool HasText(JsonNode? n) => n is JsonValue v && v.TryGetValue<string>(out var s) && s.Length > 0;

    /// <summary>A commit id as hosts write it: 7 to 64 hex digits (abbreviated, SHA-1 or SHA-256).</summary>
    static bool IsCommitId(string s) => s.Length is >= 7 and <= 64 && s.All(char.IsAsciiHexDigit);

    static JsonObject Obj(JsonObject o, string name, string path) => o[name] as JsonObject ?? throw new MissingField(path);

    static string Required(JsonObject? o, string name, string path) => Text(o, name, path) is { Length: > 0 } s ? s : throw new MissingField(path);

    /// <summary>A string field; null when absent or JSON null. A field of the wrong type counts as missing, named.</summary>
    static string? Text(JsonObject? o, string name, string path)
    {
        var n = o?[name];
        if (n is null) return null;
        return n is JsonValue v && v.TryGetValue<string>(out var s) ? s : throw new MissingField(path + " (not a string)");
    }

    static int? Int(JsonObject? o, string name, string path)
    {
        var n = o?[name];
        if (n is null) return null;
        return n is JsonValue v && v.TryGetValue<int>(out var i) ? i : throw new MissingField(path + " (not a whole number)");
    }

    sealed class MissingField(string path) : Exception(path)
    {
        public string Path { get; } = path;
    }
}

public enum PullRequestParseKind { Event, NotAPullRequest, Ignored, Malformed }

/// <summary>
/// What <see cref="PullRequestEvent.Parse"/> made of a delivery: the event, or why there is none. Malformed is the
/// sender's error (answer 400); NotAPullRequest and Ignored are fine deliveries with nothing to do (answer 200).
/// </summary>
public sealed record PullRequestParse(PullRequestEvent? Event, string? Reason, PullRequestParseKind Kind)
{
    internal static PullRequestParse NotAPullRequest(string why) => new(null, why, PullRequestParseKind.NotAPullRequest);
    internal static PullRequestParse Ignored(string why) => new(null, why, PullRequestParseKind.Ignored);
    internal static PullRequestParse Malformed(string why) => new(null, why, PullRequestParseKind.Malformed);
}
