using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Dapper;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Data.Sqlite;
using VpsPanel.Features.Shared;

namespace VpsPanel.Features.Notifications;

/// <summary>One notification_channels row as stored (secrets still encrypted).</summary>
public sealed record ChannelRow
{
    public long Id { get; init; }
    public string Type { get; init; } = "";
    public string Name { get; init; } = "";
    public string SettingsJson { get; init; } = "{}";
    public string? SecretProtected { get; init; }
    public string Events { get; init; } = "";
    public string? Projects { get; init; }
    public bool AllowPrivateNetwork { get; init; }
    /// <summary>A channel limited to some projects that owners may add their own project to (NotifySubscriptions).</summary>
    public bool OpenToOwners { get; init; }
    public string CreatedAt { get; init; } = "";

    public List<string> EventList => Events.Split(',', StringSplitOptions.RemoveEmptyEntries).ToList();
    public List<long>? ProjectIds => Projects?.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(p => long.Parse(p, CultureInfo.InvariantCulture)).ToList();
}

/// <summary>What a form or the API sends to create or change a channel; settings as text, secrets blank = keep.</summary>
public sealed record ChannelInput(string Type, string Name, Dictionary<string, string> Settings, List<string> Events, List<string>? Projects, bool AllowPrivateNetwork)
{
    public bool OpenToOwners { get; init; }
}

/// <summary>
/// Channels: admins define them (type, where to, which events, which projects). The fields of each type, which of
/// them are secret (encrypted with Data Protection as variables are, shown as ******** on pages and in the API),
/// their checks, and the SQL. Addresses are judged here at save (NotifyAddress) and again at each delivery.
/// </summary>
public static class NotifyChannels
{
    public const string Purpose = "VpsPanel.NotificationChannelSecrets";
    public const string Mask = Variables.SecretMask.Mask;
    public static readonly string[] Types = ["email", "slack", "discord", "telegram", "ntfy", "webhook"];

    /// <summary>The fields of each type: name, secret?, required?, what the form says.</summary>
    public sealed record Field(string Key, bool Secret, bool Required, string Label);

    public static IReadOnlyList<Field> FieldsOf(string type) => type switch
    {
        "webhook" => [new("url", false, true, "URL the JSON is POSTed to"), new("secret", true, true, "secret (HMAC-SHA256 key, at least 16 characters)")],
        "slack" => [new("url", true, true, "incoming webhook URL (https://hooks.slack.com/services/…)")],
        "discord" => [new("url", true, true, "webhook URL (https://discord.com/api/webhooks/…)")],
        "telegram" => [new("token", true, true, "bot token (123456:ABC…)"), new("chatId", false, true, "chat id (a number, or @channelname)")],
        "ntfy" => [new("server", false, false, "server (empty: Notifications:NtfyUrl)"), new("topic", false, true, "topic"), new("token", true, false, "access token (optional)")],
        "email" => [new("host", false, true, "SMTP host"), new("port", false, true, "port (587 STARTTLS, 465 TLS, 25 none)"),
            new("security", false, true, "security: starttls, tls or none"), new("username", false, false, "user name (optional)"),
            new("password", true, false, "password (optional)"), new("from", false, true, "from address"), new("to", false, true, "to addresses (commas)")],
        _ => [],
    };

    static readonly Regex TelegramToken = new(@"^[0-9]{3,20}:[A-Za-z0-9_-]{30,64}$", RegexOptions.CultureInvariant);
    static readonly Regex TelegramChat = new(@"^(-?[0-9]{1,20}|@[A-Za-z][A-Za-z0-9_]{4,31})$", RegexOptions.CultureInvariant);
    static readonly Regex NtfyTopic = new(@"^[A-Za-z0-9_-]{1,64}$", RegexOptions.CultureInvariant);
    static readonly Regex Email = new(@"^[^\s@<>,;""]+@[^\s@<>,;""]+$", RegexOptions.CultureInvariant);

    /// <summary>
    /// Checks a channel (shape, then every host after DNS). <paramref name="existing"/>: the stored secrets when editing,
    /// kept where the input leaves a secret blank. Returns the errors by field (settings.x for settings), the public
    /// settings, the secrets, the project ids (null: all) and the events.
    /// </summary>
    public static async Task<(Dictionary<string, string> Errors, Dictionary<string, string> Public, Dictionary<string, string> Secrets, List<long>? ProjectIds, List<string> Events)>
        ValidateAsync(SqliteConnection c, ChannelInput input, long? editingId, Dictionary<string, string>? existing, Settings.PanelSettings settings, CancellationToken ct)
    {
        var errors = new Dictionary<string, string>();
        var pub = new Dictionary<string, string>();
        var sec = new Dictionary<string, string>();
        if (!Types.Contains(input.Type)) errors["type"] = $"Choose one of: {string.Join(", ", Types)}.";
        var name = input.Name.Trim();
        if (name is "" or { Length: > 100 }) errors["name"] = "Enter a name of 1 to 100 characters.";
        else if (c.ExecuteScalar<long?>("SELECT id FROM notification_channels WHERE name = @name", new { name }) is { } other && other != editingId)
            errors["name"] = "Another channel has this name.";
        foreach (var f in FieldsOf(input.Type))
        {
            var v = input.Settings.GetValueOrDefault(f.Key)?.Trim() ?? "";
            if (f.Secret && (v == "" || v == Mask) && existing?.GetValueOrDefault(f.Key) is { } kept) v = kept;
            if (v == "" && f.Required) { errors["settings." + f.Key] = $"Enter the {f.Label}."; continue; }
            if (v.Length > 2000) { errors["settings." + f.Key] = "At most 2000 characters."; continue; }
            if (v != "") (f.Secret ? sec : pub)[f.Key] = v;
        }
        foreach (var k in input.Settings.Keys.Where(k => FieldsOf(input.Type).All(f => f.Key != k)))
            errors["settings." + k] = $"A {input.Type} channel has no setting {k}; it has: {string.Join(", ", FieldsOf(input.Type).Select(f => f.Key))}.";
        string? V(string k) => pub.GetValueOrDefault(k) ?? sec.GetValueOrDefault(k);
        var hosts = new List<(string Field, string Host)>();
        void Url(string k)
        {
            if (V(k) is not { } u) return;
            if (NotifyAddress.UrlShapeProblem(u) is { } p) errors["settings." + k] = p;
            else hosts.Add((k, new Uri(u).Host));
        }
        switch (input.Type)
        {
            case "webhook":
                Url("url");
                if (V("secret") is { Length: < 16 }) errors["settings.secret"] = "The secret must be at least 16 characters.";
                break;
            case "slack" or "discord":
                Url("url");
                break;
            case "telegram":
                if (V("token") is { } t && !TelegramToken.IsMatch(t))
                    errors["settings.token"] = "This is not a Telegram bot token: it looks like 123456789:AAE… (digits, a colon, then 30 or more letters, digits, _ or -), as @BotFather gives it.";
                if (V("chatId") is { } chat && !TelegramChat.IsMatch(chat)) errors["settings.chatId"] = "Enter a chat id (a whole number, negative for groups) or @channelname.";
                hosts.Add(("token", new Uri(settings.TelegramApiUrl).Host));
                break;
            case "ntfy":
                if (V("server") is not null) Url("server"); else hosts.Add(("server", new Uri(settings.NtfyUrl).Host));
                if (V("topic") is { } topic && !NtfyTopic.IsMatch(topic)) errors["settings.topic"] = "A topic is 1 to 64 letters, digits, _ or -.";
                break;
            case "email":
                if (V("port") is { } port && (!int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n is < 1 or > 65535))
                    errors["settings.port"] = "The SMTP port is a whole number from 1 to 65535 (587 for STARTTLS, 465 for TLS, 25 without).";
                if (V("security") is { } s && s is not ("starttls" or "tls" or "none")) errors["settings.security"] = "Choose starttls, tls or none.";
                if (V("from") is { } from && !Email.IsMatch(from)) errors["settings.from"] = "Enter one email address.";
                if (V("to") is { } to && to.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries) is var list && (list.Length == 0 || !list.All(Email.IsMatch)))
                    errors["settings.to"] = "Enter one or more email addresses, separated by commas.";
                if (V("password") is not null && V("username") is null) errors["settings.username"] = "A password needs a user name.";
                if (V("host") is { } h)
                {
                    if (Uri.CheckHostName(h.Trim('[', ']')) == UriHostNameType.Unknown || h.StartsWith('-')) errors["settings.host"] = "Enter a host name or IP address.";
                    else hosts.Add(("host", h));
                }
                break;
        }
        var events = input.Events.Select(e => e.Trim()).Where(e => e != "").Distinct().ToList();
        foreach (var e in events.Where(e => !Notify.Events.Contains(e)))
            errors["events"] = $"There is no event {e}; the events are: {string.Join(", ", Notify.Events)}.";
        if (!events.Contains(Notify.DeploymentFailed)) events.Insert(0, Notify.DeploymentFailed);
        List<long>? ids = null;
        if (input.Projects is not null)
        {
            ids = [];
            foreach (var slug in input.Projects.Select(p => p.Trim()).Where(p => p != "").Distinct())
            {
                if (c.ExecuteScalar<long?>("SELECT id FROM projects WHERE slug = @slug", new { slug }) is { } id) ids.Add(id);
                else errors["projects"] = $"There is no project {slug}.";
            }
        }
        // Only a channel that is otherwise right is resolved: DNS is slow, and a shape error is what to fix first.
        if (errors.Count == 0)
            foreach (var (field, host) in hosts)
                if ((await NotifyAddress.CheckHostAsync(host, input.AllowPrivateNetwork, ct)).Problem is { } p)
                    errors["settings." + field] = p;
        return (errors, pub, sec, ids, events);
    }

    public static long InsertChannel(SqliteConnection c, IDataProtectionProvider protection, ChannelInput input, Dictionary<string, string> pub, Dictionary<string, string> sec,
        List<long>? projectIds, List<string> events)
    {
        var now = Clock.Now();
        return c.ExecuteScalar<long>(
            """
            INSERT INTO notification_channels (type, name, settings_json, secret_protected, events, projects, allow_private_network, open_to_owners, created_at, updated_at)
            VALUES (@Type, @name, @settingsJson, @secret, @events, @projects, @AllowPrivateNetwork, @OpenToOwners, @now, @now) RETURNING id
            """,
            new { input.Type, name = input.Name.Trim(), settingsJson = JsonSerializer.Serialize(pub), secret = Protect(protection, sec), events = string.Join(',', events),
                projects = projectIds is null ? null : string.Join(',', projectIds), input.AllowPrivateNetwork, input.OpenToOwners, now });
    }

    public static void UpdateChannel(SqliteConnection c, IDataProtectionProvider protection, long id, ChannelInput input, Dictionary<string, string> pub, Dictionary<string, string> sec,
        List<long>? projectIds, List<string> events) =>
        c.Execute(
            """
            UPDATE notification_channels SET type = @Type, name = @name, settings_json = @settingsJson, secret_protected = @secret, events = @events,
                projects = @projects, allow_private_network = @AllowPrivateNetwork, open_to_owners = @OpenToOwners, updated_at = @now WHERE id = @id
            """,
            new { id, input.Type, name = input.Name.Trim(), settingsJson = JsonSerializer.Serialize(pub), secret = Protect(protection, sec), events = string.Join(',', events),
                projects = projectIds is null ? null : string.Join(',', projectIds), input.AllowPrivateNetwork, input.OpenToOwners, now = Clock.Now() });

    public static bool DeleteChannel(SqliteConnection c, long id) => c.Execute("DELETE FROM notification_channels WHERE id = @id", new { id }) > 0;

    const string Columns = "id, type, name, settings_json AS SettingsJson, secret_protected AS SecretProtected, events, projects, allow_private_network AS AllowPrivateNetwork, open_to_owners AS OpenToOwners, created_at AS CreatedAt";

    public static ChannelRow? FindChannel(SqliteConnection c, long id) =>
        c.QuerySingleOrDefault<ChannelRow>($"SELECT {Columns} FROM notification_channels WHERE id = @id", new { id });

    public static List<ChannelRow> ListChannels(SqliteConnection c) =>
        c.Query<ChannelRow>($"SELECT {Columns} FROM notification_channels ORDER BY name").ToList();

    static string? Protect(IDataProtectionProvider protection, Dictionary<string, string> secrets) =>
        secrets.Count == 0 ? null : protection.CreateProtector(Purpose).Protect(JsonSerializer.Serialize(secrets));

    public static Dictionary<string, string> SecretsOf(IDataProtectionProvider protection, ChannelRow ch) =>
        ch.SecretProtected is null ? [] : JsonSerializer.Deserialize<Dictionary<string, string>>(protection.CreateProtector(Purpose).Unprotect(ch.SecretProtected)) ?? [];

    public static Dictionary<string, string> PublicOf(ChannelRow ch) => JsonSerializer.Deserialize<Dictionary<string, string>>(ch.SettingsJson) ?? [];

    /// <summary>Every setting, secrets decrypted: for a delivery only.</summary>
    public static Dictionary<string, string> AllSettingsOf(IDataProtectionProvider protection, ChannelRow ch)
    {
        var all = PublicOf(ch);
        foreach (var (k, v) in SecretsOf(protection, ch)) all[k] = v;
        return all;
    }

    /// <summary>What pages and the API show: public settings as they are, each secret that is set as ********.</summary>
    public static Dictionary<string, string> MaskedSettingsOf(IDataProtectionProvider protection, ChannelRow ch)
    {
        var shown = PublicOf(ch);
        foreach (var k in SecretsOf(protection, ch).Keys) shown[k] = Mask;
        return shown;
    }

    /// <summary>The JSON of a channel for the API and the CLI: never a secret.</summary>
    public static object Json(SqliteConnection c, IDataProtectionProvider protection, ChannelRow ch) => new
    {
        id = ch.Id, type = ch.Type, name = ch.Name, settings = MaskedSettingsOf(protection, ch), events = ch.EventList,
        projects = ch.ProjectIds?.Select(id => c.ExecuteScalar<string?>("SELECT slug FROM projects WHERE id = @id", new { id })).Where(s => s is not null).ToList(),
        allowPrivateNetwork = ch.AllowPrivateNetwork, openToOwners = ch.OpenToOwners, createdAt = ch.CreatedAt,
    };
}
