namespace VpsPanel.Features.Variables;

/// <summary>
/// The edits the project and shared variable pages offer, as pure functions from the stored set to the new set (or
/// the errors): add or change one variable, remove one, replace all from .env text. Saving is the page's business.
/// </summary>
public static class VariableEdits
{
    /// <summary>The single-variable form: replaces the variable of that key in place, or appends it.</summary>
    public static (List<Variable> Set, List<string> Errors) Upsert(IReadOnlyList<Variable> stored, VariableInput input)
    {
        var inputs = stored.Select(ToInput).ToList();
        var at = inputs.FindIndex(v => v.Key == input.Key.Trim());
        if (at >= 0) inputs[at] = input;
        else inputs.Add(input);
        return VariableStore.Validate(inputs, stored);
    }

    public static List<Variable> Remove(IReadOnlyList<Variable> stored, string key) => stored.Where(v => v.Key != key).ToList();

    /// <summary>
    /// Replaces the whole set with the variables in .env text. A key that exists keeps its flags; new keys get the
    /// defaults chosen next to the text. KEY=******** keeps a stored secret. Every error names its line.
    /// </summary>
    public static (List<Variable> Set, List<string> Errors) FromEnvText(IReadOnlyList<Variable> stored, string text, bool secret, bool buildTime, bool runtime)
    {
        var parsed = DotEnv.Parse(text);
        if (!parsed.Ok) return ([], parsed.Errors.ToList());
        var old = stored.ToDictionary(v => v.Key, StringComparer.Ordinal);
        var inputs = parsed.Entries.Select(e => old.TryGetValue(e.Key, out var o)
            ? new VariableInput(e.Key, e.Value, o.Secret, o.BuildTime, o.Runtime, $"line {e.Line}")
            : new VariableInput(e.Key, e.Value, secret, buildTime, runtime, $"line {e.Line}")).ToList();
        return VariableStore.Validate(inputs, stored);
    }

    /// <summary>The set as .env text; secrets masked unless <paramref name="reveal"/> (admins and the project's owner exporting).</summary>
    public static string ToEnvText(IEnumerable<Variable> vars, bool reveal) =>
        DotEnv.Write(vars.Select(v => (v.Key, reveal ? v.Value : v.Shown)));

    static VariableInput ToInput(Variable v) => new(v.Key, v.Value, v.Secret, v.BuildTime, v.Runtime, v.Key);
}

/// <summary>What the shared editor partial shows: the set, the forms as posted, and the errors.</summary>
public sealed class VariableEditorView
{
    public List<Variable> Vars { get; set; } = [];
    public string Key { get; set; } = "";
    public string Value { get; set; } = "";
    public bool Secret { get; set; }
    public bool BuildTime { get; set; }
    public bool Runtime { get; set; } = true;
    public string? EnvText { get; set; }
    public bool NewSecret { get; set; }
    public bool NewBuildTime { get; set; }
    public bool NewRuntime { get; set; } = true;
    public List<string> FormErrors { get; set; } = [];
    public List<string> EnvErrors { get; set; } = [];
    public string ExportUrl { get; set; } = "";
    public bool CanReveal { get; set; }

    public string EnvTextOrCurrent => EnvText ?? VariableEdits.ToEnvText(Vars, reveal: false);

    /// <summary>Prefills the single form from a stored variable (the Edit link): a secret shows the mask, never its value.</summary>
    public void Edit(string? key)
    {
        if (Vars.FirstOrDefault(v => v.Key == key) is not { } v) return;
        (Key, Value, Secret, BuildTime, Runtime) = (v.Key, v.Shown, v.Secret, v.BuildTime, v.Runtime);
    }

    public VariableInput Input => new(Key, Value, Secret, BuildTime, Runtime, "the form");

    /// <summary>Reads the posted single-variable form.</summary>
    public static VariableEditorView FromForm(IFormCollection form, List<Variable> vars) => new()
    {
        Vars = vars,
        Key = form["key"].ToString().Trim(),
        Value = form["value"].ToString(),
        Secret = form["secret"] == "true",
        BuildTime = form["buildTime"] == "true",
        Runtime = form["runtime"] == "true",
    };

    public static VariableEditorView FromEnvForm(IFormCollection form, List<Variable> vars) => new()
    {
        Vars = vars,
        EnvText = form["env"].ToString(),
        NewSecret = form["newSecret"] == "true",
        NewBuildTime = form["newBuildTime"] == "true",
        NewRuntime = form["newRuntime"] == "true",
    };
}
