namespace EventBus.Core.Sessions;

/// <summary>Human-friendly session names like <c>brave-raptor</c> (adjective-dinosaur).</summary>
public static class DisplayIds
{
    private static readonly string[] Adjectives =
    [
        "agile", "bold", "brave", "bright", "calm", "clever", "cosmic", "crisp", "daring", "eager",
        "fancy", "fierce", "gentle", "golden", "happy", "hardy", "jolly", "keen", "lively", "lucky",
        "mighty", "nimble", "noble", "plucky", "proud", "quick", "quiet", "rapid", "rustic", "shiny",
        "silent", "sleek", "smart", "snappy", "steady", "stout", "sunny", "swift", "tidy", "vivid",
        "witty", "zesty", "amber", "azure", "cheery", "dapper", "frosty", "mellow", "spry", "wild",
    ];

    private static readonly string[] Dinosaurs =
    [
        "raptor", "rex", "stego", "trike", "bronto", "allosaur", "ankylo", "diplo", "iguanodon", "spino",
        "pachy", "parasaur", "compy", "dilopho", "gallimimus", "maiasaur", "oviraptor", "ptero", "carno", "baryonyx",
        "brachio", "coelo", "deino", "edmonto", "giganoto", "hadrosaur", "kentro", "megalo", "microraptor", "nodosaur",
        "ornitho", "plateo", "protoceratops", "sauropod", "styraco", "thero", "titano", "troodon", "utahraptor", "velociraptor",
    ];

    /// <summary>A random display id; uniqueness is the store's job (it retries on a clash).</summary>
    public static string Next(Random random) =>
        $"{Adjectives[random.Next(Adjectives.Length)]}-{Dinosaurs[random.Next(Dinosaurs.Length)]}";
}
