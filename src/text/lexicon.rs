//! Words of one meaning across the languages shops write in: the colour a word names, so that
//! "Zwart", "schwarz" and "black" are one colour to the matcher.
//!
//! Offers of one product come from shops in many countries (WDC Products alone has a dozen
//! languages); a colour is the word most often translated in a product title, and both a
//! variant's mark (another colour is another product) and a word a relisting keeps. Forms are
//! folded (accents dropped, lower case), as `fold` leaves them. Words that are also common
//! English, brand or abbreviation words are left out ("sort", "rose", "or", "vit" for vitamin,
//! "blu" of Blu-ray).

/// The colour (in English) a folded word names, if any.
pub fn colour(word: &str) -> Option<&'static str> {
    Some(match word {
        "black" | "blk" | "bk" | "schwarz" | "schwarze" | "schwarzer" | "zwart" | "zwarte"
        | "noir" | "noire" | "nero" | "nera" | "negro" | "negra" | "czarny" | "czarna"
        | "czarne" | "svart" | "musta" | "cerna" | "cerny" | "cerne" | "cierna" | "juoda"
        | "juodas" | "negru" | "fekete" | "preto" | "preta" => "black",
        "white" | "wht" | "weiss" | "weisse" | "weisser" | "wit" | "witte" | "blanc"
        | "blanche" | "bianco" | "bianca" | "blanco" | "blanca" | "bialy" | "biala" | "biale"
        | "hvid" | "hvit" | "valkoinen" | "bila" | "bily" | "balta" | "baltas" | "alba"
        | "feher" | "branco" | "branca" => "white",
        "silver" | "silber" | "zilver" | "argent" | "argente" | "argento" | "plata"
        | "plateado" | "srebrny" | "srebrna" | "hopea" | "stribrna" | "argintiu" | "ezust"
        | "prata" | "prateado" => "silver",
        "red" | "rot" | "rote" | "roter" | "rood" | "rode" | "rouge" | "rosso" | "rossa"
        | "rojo" | "roja" | "czerwony" | "czerwona" | "punainen" | "cervena" | "cerveny"
        | "raudona" | "rosu" | "piros" | "vermelho" | "vermelha" => "red",
        "blue" | "navy" | "blau" | "blaue" | "blauer" | "blauw" | "blauwe" | "bleu" | "bleue"
        | "azul" | "niebieski" | "niebieska" | "sininen" | "modra" | "modry" | "melyna"
        | "albastru" => "blue",
        "green" | "grun" | "gruen" | "grune" | "groen" | "groene" | "vert" | "verte" | "verde"
        | "zielony" | "zielona" | "gronn" | "vihrea" | "zelena" | "zeleny" | "zalia" | "zold" => {
            "green"
        }
        "pink" | "rosa" | "roze" | "rozowy" | "rozowa" | "ruzova" => "pink",
        "gray" | "grey" | "grau" | "graue" | "grijs" | "grijze" | "gris" | "grise" | "grigio"
        | "grigia" | "szary" | "szara" | "harmaa" | "sedy" | "pilka" | "szurke" | "cinza"
        | "cinzento" => "gray",
        "tan" => "tan",
        "beige" => "beige",
        "brown" | "braun" | "bruin" | "marron" | "brun" | "marrone" | "brazowy" | "hnedy"
        | "barna" | "castanho" => "brown",
        "purple" | "violet" | "violett" | "violette" | "lila" | "paars" | "morado"
        | "fioletowy" | "fialova" => "purple",
        "yellow" | "gelb" | "gelbe" | "geel" | "jaune" | "giallo" | "gialla" | "amarillo"
        | "amarilla" | "zolty" | "zolta" | "keltainen" | "zluta" | "galben" | "sarga"
        | "amarelo" => "yellow",
        "orange" | "oranje" | "arancione" | "naranja" | "pomaranczowy" | "oranzova"
        | "portocaliu" | "laranja" => "orange",
        "gold" | "goud" | "oro" | "dore" | "dorado" | "dourado" | "guld" | "kulta" | "zlata"
        | "auriu" | "arany" => "gold",
        "clear" => "clear",
        "mint" => "mint",
        "ivory" => "ivory",
        "teal" => "teal",
        "magenta" => "magenta",
        "cyan" | "cyaan" | "ciano" | "cian" => "cyan",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::normalize::fold;

    #[test]
    fn one_colour_in_the_languages_of_european_shops() {
        for w in [
            "Schwarz", "Zwart", "noir", "Nero", "negro", "Czarny", "svart", "Černá",
        ] {
            assert_eq!(colour(&fold(w)), Some("black"), "{w}");
        }
        for w in ["Weiss", "blanc", "Biały", "hvid"] {
            assert_eq!(colour(&fold(w)), Some("white"), "{w}");
        }
        assert_eq!(colour(&fold("Grün")), Some("green"));
        assert_eq!(colour("sort"), None);
        assert_eq!(colour("kettle"), None);
    }
}
