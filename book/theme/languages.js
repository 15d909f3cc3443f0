// The same page in the other language: the English book is the site's root, the Portuguese one is under pt-BR/.
(function () {
    const portuguese = document.documentElement.lang === "pt-BR";
    const page = window.location.pathname.split("/").pop() || "index.html";
    const link = document.createElement("a");
    link.href = path_to_root + (portuguese ? "../" : "pt-BR/") + page;
    link.textContent = portuguese ? "English" : "Português";
    link.lang = portuguese ? "en" : "pt-BR";
    link.className = "workshop-language";
    link.title = portuguese ? "Read this page in English" : "Leia esta página em português";
    const buttons = document.querySelector(".right-buttons");
    if (buttons) {
        buttons.prepend(link);
    }
})();

// mdBook's own buttons and search box, in the Portuguese book.
(function () {
    if (document.documentElement.lang !== "pt-BR") {
        return;
    }
    const words = {
        "Change theme": "Mudar o tema",
        "Next chapter": "Próximo capítulo",
        "Previous chapter": "Capítulo anterior",
        "Page navigation": "Navegação entre páginas",
        "Print this book": "Imprimir este livro",
        "Table of contents": "Sumário",
        "Themes": "Temas",
        "Toggle Searchbar": "Mostrar ou ocultar a busca",
        "Toggle Table of Contents": "Mostrar ou ocultar o sumário",
        "Search (`/`)": "Buscar (`/`)",
        "Search this book ...": "Buscar neste livro ...",
    };
    for (const attribute of ["title", "aria-label", "placeholder"]) {
        for (const element of document.querySelectorAll("[" + attribute + "]")) {
            const translated = words[element.getAttribute(attribute)];
            if (translated) {
                element.setAttribute(attribute, translated);
            }
        }
    }
})();
