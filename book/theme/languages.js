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
