"""Name and place lists for the deterministic demo directory."""

FIRST_NAMES = (
    "Ada Alan Alice Amara Ana Andrea Anil Anna Arjun Aroha Ben Bianca Carlos Carmen Chen Chloe "
    "Chidi Daniel Diego Dmitri Elena Elif Emma Ethan Fatima Felix Freya Gabriel Grace Hana "
    "Hannah Hiro Ian Ines Isaac Isabel Ivan Jack Jamal James Jana Javier Jin Joao Jonas Julia "
    "Kai Karin Kenji Kofi Laila Lars Layla Leo Liam Lina Lucas Lucia Luis Maya Marco Maria "
    "Mateo Mei Mia Mohammed Nadia Naomi Nia Noah Nora Olga Omar Oscar Paula Priya Quinn Rafael "
    "Rahul Rania Ravi Rosa Ruth Sam Sara Sean Sofia Soren Tariq Thomas Tomas Uma Victor Wei "
    "Yara Yusuf Zara Zoe"
).split()

LAST_NAMES = (
    "Abbott Adeyemi Alvarez Andersen Ahmed Bauer Becker Brown Castillo Chen Cohen Costa Cruz "
    "Dubois Diaz Eriksson Evans Fischer Fernandez Garcia Gonzalez Green Gupta Hansen Harris "
    "Hernandez Hoffmann Ito Ivanova Jansen Johnson Jones Kaur Khan Kim Kowalski Kumar Larsen "
    "Lee Lopez Lovelace Martin Martinez Meyer Miller Moreau Murphy Nakamura Nguyen Novak "
    "Okafor Olsen Park Patel Perez Petrov Quinn Ramirez Reyes Richter Rossi Russo Sanchez "
    "Santos Sato Schmidt Schneider Silva Singh Smith Suzuki Tanaka Taylor Thomas Torres Turner "
    "Wagner Walker Wang Weber Williams Wilson Wong Yamamoto Young Zhang Zimmermann"
).split()

#: Real US area codes, so generated numbers pass phonenumbers' validity checks.
AREA_CODES = (
    "201 202 206 212 213 214 216 303 305 312 313 314 404 408 410 412 415 503 504 512 602 612 "
    "617 619 646 650 702 713 718 720 773 801 804 808 813 818 858 901 916 917 919 925 949 971"
).split()

LANGUAGES = ("en", "en", "en", "en", "es", "es", "fr", "de", "pt", "zh")
MAIL_DOMAINS = ("example.com", "example.org", "example.net", "mail.example.com")
