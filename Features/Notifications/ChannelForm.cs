namespace VpsPanel.Features.Notifications;

/// <summary>
/// The channel form of the pages (new and edit): one fieldset per type, fields named "type.key" so a page without
/// script can show them all; the chosen type's fields are read. Projects: every project, or only the listed ones
/// (slugs separated by commas; a form without projectsMode reads an empty list as every project).
/// </summary>
public sealed record ChannelForm(string Type, string Name, Dictionary<string, string> Values, List<string> Events, string Projects, bool AllowPrivateNetwork,
    Dictionary<string, string> Errors)
{
    /// <summary>"all", "listed", or "" (not sent: an empty list is every project).</summary>
    public string ProjectsMode { get; init; } = "";
    public bool OpenToOwners { get; init; }

    public static ChannelForm Empty => new("webhook", "", [], [Notify.DeploymentFailed], "", false, []) { ProjectsMode = "all" };

    public static ChannelForm Read(IFormCollection form) => new(
        form["type"].ToString(), form["name"].ToString(),
        form.Keys.Where(k => k.Contains('.')).ToDictionary(k => k, k => form[k].ToString()),
        form["events"].Select(e => e ?? "").ToList(), form["projects"].ToString(), form["allowPrivateNetwork"] == "true", [])
    {
        ProjectsMode = form["projectsMode"].ToString(), OpenToOwners = form["openToOwners"] == "true",
    };

    public ChannelInput Input() => new(Type, Name,
        NotifyChannels.FieldsOf(Type).ToDictionary(f => f.Key, f => Values.GetValueOrDefault($"{Type}.{f.Key}") ?? ""),
        Events, ProjectsMode == "all" || (ProjectsMode != "listed" && Projects.Trim() == "") ? null : Projects.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToList(),
        AllowPrivateNetwork) { OpenToOwners = OpenToOwners };

    /// <summary>A stored channel in the form: secrets as ******** (sent back unchanged means "keep").</summary>
    public static ChannelForm Of(ChannelRow ch, Dictionary<string, string> masked, IEnumerable<string> projectSlugs) => new(
        ch.Type, ch.Name, masked.ToDictionary(kv => $"{ch.Type}.{kv.Key}", kv => kv.Value), ch.EventList,
        ch.Projects is null ? "" : string.Join(", ", projectSlugs), ch.AllowPrivateNetwork, []) { ProjectsMode = ch.Projects is null ? "all" : "listed", OpenToOwners = ch.OpenToOwners };

    /// <summary>Errors of the validation ("settings.url") keyed as the form's fields ("webhook.url").</summary>
    public ChannelForm WithErrors(Dictionary<string, string> errors) =>
        this with { Errors = errors.ToDictionary(e => e.Key.StartsWith("settings.", StringComparison.Ordinal) ? $"{Type}.{e.Key["settings.".Length..]}" : e.Key, e => e.Value) };
}
