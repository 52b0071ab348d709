using System.Text;

namespace VpsPanel.Features.Docker;

/// <summary>
/// The build stream's "stream" messages carry output as the engine read it, not as lines: a program that prints part
/// of a line, pauses, then prints the rest arrives as two messages. Joined here into whole lines before anything sees
/// them, so a secret is masked whole and a line is never split into two timestamped halves.
/// </summary>
public sealed class BuildOutputLines(Action<string> onLine)
{
    /// <summary>Output without a newline for this long is passed on as it is, so a program that never ends a line cannot fill memory.</summary>
    public const int MaxPendingChars = 1024 * 1024;

    readonly StringBuilder _pending = new();

    public void Add(string piece)
    {
        var start = 0;
        for (var nl = piece.IndexOf('\n'); nl >= 0; nl = piece.IndexOf('\n', start))
        {
            _pending.Append(piece, start, nl - start);
            Emit();
            start = nl + 1;
        }
        _pending.Append(piece, start, piece.Length - start);
        if (_pending.Length >= MaxPendingChars) Emit();
    }

    /// <summary>Passes on an unfinished line: before a message of another kind (status, error) and at the end of the build.</summary>
    public void Flush()
    {
        if (_pending.Length > 0) Emit();
    }

    void Emit()
    {
        onLine(_pending.ToString());
        _pending.Clear();
    }
}
