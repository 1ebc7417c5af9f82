/// Guesses which known key a mistyped one meant, for "did you mean" hints.
enum KeySuggestion {
    /// The known key closest to `key` by edit distance, when it is close enough to be a typo.
    static func closest(to key: String, among known: [String]) -> String? {
        let limit = max(1, key.count / 4)
        var best: (key: String, distance: Int)?
        for candidate in known {
            let distance = editDistance(Array(key), Array(candidate))
            if distance <= limit, distance < (best?.distance ?? .max) {
                best = (candidate, distance)
            }
        }
        return best?.key
    }

    /// Levenshtein distance, one row at a time.
    private static func editDistance(_ a: [Character], _ b: [Character]) -> Int {
        var previous = Array(0...b.count)
        for (i, charA) in a.enumerated() {
            var current = [i + 1]
            for (j, charB) in b.enumerated() {
                current.append(min(previous[j + 1] + 1, current[j] + 1, previous[j] + (charA == charB ? 0 : 1)))
            }
            previous = current
        }
        return previous[b.count]
    }
}
