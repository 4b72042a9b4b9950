"""The `enterprise` suite: the documents of a fictional organisation (Nordvik Harbour Group:
policies with conditions and ranges, tables, a quarterly report, registers with dates, an org
chart, meeting notes; Markdown, HTML and tab-separated text) and questions of every kind people
ask of them: lookups, conditions, table cells and superlatives, two-document arithmetic, multi-hop,
dates and durations, comparisons, explanations, general questions the documents do not cover,
self-contained word problems, and questions the documents cannot answer (right = abstained or
"the documents do not state").

Everything is invented, so no answer can come from a model's pre-training. Every case is tagged
with its kind and with `tune` or `heldout`: alternate cases of each kind, fixed here; nothing is
tuned on the held-out half, which is also a suite of its own (`enterprise-heldout`)."""

from __future__ import annotations

from typing import Any

COLLECTION = "eval-enterprise"

DOCUMENTS: dict[str, str] = {
    "leave-policy.md": """# Leave policy

Nordvik Harbour Group employees earn annual leave by completed years of service with the group.

## Annual leave

| Years of service | Annual leave (working days) |
|---|---|
| Less than 2 years | 24 |
| 2 to 4 years | 26 |
| 5 to 9 years | 28 |
| 10 years or more | 30 |

Up to 5 unused days may be carried over into the next year; carried-over days lapse on 31 March.

## Parental and sick leave

Parents receive 16 weeks of paid parental leave, which must be taken before the child's second birthday.
Employees who are ill must notify their manager by 10:00 on the first day of absence. A medical certificate
is required from the fourth consecutive day of sick leave.
""",
    "travel-policy.html": """<html><head><title>Travel policy</title></head><body>
<h1>Travel policy</h1>
<p>Business trips are booked through the travel desk at least 14 days before departure.</p>
<h2>Daily allowances and hotel limits</h2>
<table>
<tr><th>Tier</th><th>Cities</th><th>Daily allowance (EUR)</th><th>Hotel limit per night (EUR)</th></tr>
<tr><td>Tier A</td><td>Oslo, London, Zurich</td><td>95</td><td>220</td></tr>
<tr><td>Tier B</td><td>Hamburg, Rotterdam, Antwerp</td><td>80</td><td>170</td></tr>
<tr><td>Tier C</td><td>all other cities</td><td>60</td><td>130</td></tr>
</table>
<h2>Transport</h2>
<p>Business class may be booked for flights longer than 6 hours. Use of a private car is reimbursed at
0.30 EUR per kilometre. Expense claims must be submitted within 30 days of the end of the trip.</p>
</body></html>
""",
    "purchasing-policy.md": """# Purchasing policy

Every purchase order needs the approval set out below before it is sent to a supplier.

## Approval thresholds

| Order value | Approver |
|---|---|
| below 2,500 EUR | Team lead |
| from 2,500 EUR up to 10,000 EUR | Department head |
| over 10,000 EUR up to 50,000 EUR | Chief Financial Officer |
| over 50,000 EUR | Board of Directors |

Orders over 10,000 EUR require three written quotes. Framework agreements are reviewed every 24 months.
""",
    "quarterly-report-q3-2026.md": """# Quarterly report, third quarter 2026

Group revenue rose to 138.5 million EUR in the third quarter of 2026, from 133.9 million EUR in the second
quarter. The group's operating margin was 11.2 percent. Headcount at the end of the quarter was 1,284.

## Revenue by division (million EUR)

| Division | Q1 2026 | Q2 2026 | Q3 2026 |
|---|---|---|---|
| Port Services | 38.2 | 40.1 | 41.0 |
| Marine Engineering | 22.5 | 21.9 | 19.4 |
| Logistics | 55.0 | 57.3 | 60.2 |
| Offshore Energy | 12.8 | 14.6 | 17.9 |

## Commentary

Marine Engineering's revenue fell because two hull repair contracts were postponed to 2027 and steel
prices rose. Offshore Energy grew fastest, driven by the cable laying season in the North Sea. Logistics
benefited from new rail connections out of Rotterdam.
""",
    "contract-register.txt": (
        "Contract register of Nordvik Harbour Group (annual values in thousand EUR)\n\n"
        "Contract\tCounterparty\tDivision\tStart\tEnd\tAnnual value (k EUR)\n"
        "C-101\tBaltic Crane Services\tPort Services\t2024-03-01\t2027-02-28\t420\n"
        "C-102\tVeltro Steel\tMarine Engineering\t2025-01-15\t2026-12-31\t1,150\n"
        "C-103\tSkarv Fuels\tLogistics\t2023-07-01\t2028-06-30\t2,340\n"
        "C-104\tNorrlight IT\tGroup IT\t2026-02-01\t2029-01-31\t610\n"
        "C-105\tHarbour Pilots AS\tPort Services\t2025-09-01\t2026-08-31\t275\n"
        "C-106\tAalto Cables\tOffshore Energy\t2026-05-01\t2030-04-30\t1,980\n"),
    "org-chart.md": """# Organisation

Henrik Vold is the chief executive officer of Nordvik Harbour Group. Maja Berg is the chief financial officer.

## Divisions

| Division | Head | Main office |
|---|---|---|
| Port Services | Ingrid Solberg | Bergen |
| Marine Engineering | Tomas Lindqvist | Gothenburg |
| Logistics | Amira Haddad | Rotterdam |
| Offshore Energy | Lars Eikrem | Stavanger |
| Group IT | Petra Novak | Oslo |
""",
    "offices.md": """# Offices

| Office | City | Floor area (m2) | Staff | Opened |
|---|---|---|---|---|
| Head office | Oslo | 4,200 | 310 | 2009 |
| Bergen office | Bergen | 2,900 | 240 | 2012 |
| Gothenburg office | Gothenburg | 1,750 | 180 | 2015 |
| Rotterdam office | Rotterdam | 3,600 | 290 | 2011 |
| Stavanger office | Stavanger | 1,200 | 95 | 2019 |
| Aberdeen office | Aberdeen | 800 | 60 | 2022 |
""",
    "projects.md": """# Project portfolio 2026

| Project | Division | Budget (k EUR) | Start | Deadline |
|---|---|---|---|---|
| Harbour Crane Retrofit | Port Services | 2,450 | 2026-01-12 | 2026-11-30 |
| Hull Coating Study | Marine Engineering | 3,120 | 2026-03-02 | 2027-05-31 |
| Route Planner 2 | Logistics | 1,750 | 2025-10-01 | 2026-09-30 |
| Wind Cable Survey | Offshore Energy | 4,800 | 2026-04-15 | 2027-10-15 |
| Dock Sensor Mesh | Port Services | 980 | 2026-06-01 | 2026-12-18 |
| Fleet Telematics | Logistics | 2,200 | 2026-02-09 | 2027-01-29 |
""",
    "meeting-notes-2026-10-14.md": """# Management meeting, 14 October 2026

Present: Henrik Vold, Maja Berg, Ingrid Solberg, Tomas Lindqvist, Amira Haddad, Lars Eikrem, Petra Novak.

## Decisions

- Marine Engineering has a hiring freeze until 31 January 2027, because its order book shrank.
- The budget of the Wind Cable Survey is increased by 600 k EUR for its second phase.
- The Aberdeen office will close on 30 June 2027; its staff move to the Stavanger office.
- The next management meeting is on 18 November 2026.
""",
    "it-security-policy.md": """# IT security policy

Passwords must be at least 14 characters long. Multi-factor authentication is required for every account.
Laptops must use full-disk encryption. Security incidents must be reported to the security desk within
2 hours of discovery. Accounts for contractors expire after at most 90 days and must be renewed by the
contractor's manager. Group IT is responsible for this policy.
""",
    "remote-work-policy.md": """# Remote work policy

Employees who have completed their probation period of 6 months may work remotely up to 2 days per week.
Each remote worker receives a one-time equipment allowance of 500 EUR and 30 EUR per month towards home
internet. Remote work from outside the European Economic Area requires approval by Human Resources.
""",
    "training-budget.md": """# Training budget

Each employee has a yearly training budget that depends on the job grade.

| Job grade | Yearly training budget (EUR) |
|---|---|
| Grades 1 to 3 | 800 |
| Grades 4 to 6 | 1,500 |
| Grade 7 and above | 2,500 |

A professional certification passed during the year earns a one-time bonus of 1,000 EUR.
""",
}

# (kind, question, answer); answer None: the documents cannot answer it (right = abstained or "the
# documents do not state"). A number is scored as a number; text, as any of the accepted answers.
_CASES: list[tuple[str, str, Any]] = [
    # lookups of facts stated in prose
    ("lookup", "How many weeks of paid parental leave do parents receive?", 16),
    ("lookup", "How long must passwords be at least, in characters?", 14),
    ("lookup", "Who is the chief financial officer of Nordvik Harbour Group?", ["Maja Berg"]),
    ("lookup", "What was the group's operating margin in the third quarter of 2026, in percent?", 11.2),
    ("lookup", "What was the headcount at the end of the third quarter of 2026?", 1284),
    ("lookup", "Within how many hours must security incidents be reported?", 2),
    ("lookup", "How much is the one-time equipment allowance for remote workers in EUR?", 500),
    ("lookup", "Who is the chief executive officer of Nordvik Harbour Group?", ["Henrik Vold"]),
    ("lookup", "How many days before departure must business trips be booked?", 14),
    ("lookup", "At what rate per kilometre is use of a private car reimbursed, in EUR?", 0.30),
    ("lookup", "Within how many days must expense claims be submitted after a trip?", 30),
    ("lookup", "How many unused leave days may be carried over into the next year?", 5),
    ("lookup", "What was group revenue in the third quarter of 2026, in million EUR?", 138.5),
    ("lookup", "After how many days do contractor accounts expire at most?", 90),
    # conditions and ranges in tables and rules
    ("condition", "How many days of annual leave does an employee with 6 years of service get?", 28),
    ("condition", "How many days of annual leave does an employee with 12 years of service get?", 30),
    ("condition", "How many days of annual leave does an employee with 1 year of service get?", 24),
    ("condition", "How many days of annual leave does an employee with 3 years of service get?", 26),
    ("condition", "Who must approve a purchase order of 3,000 EUR?", ["Department head"]),
    ("condition", "Who must approve a purchase order of 800 EUR?", ["Team lead"]),
    ("condition", "Who must approve a purchase order of 75,000 EUR?", ["Board of Directors"]),
    ("condition", "Who must approve a purchase order of 20,000 EUR?", ["Chief Financial Officer", "CFO"]),
    ("condition", "What is the daily allowance for a business trip to Rotterdam, in EUR?", 80),
    ("condition", "What is the hotel limit per night in Zurich, in EUR?", 220),
    ("condition", "What is the daily allowance for a business trip to Lisbon, in EUR?", 60),
    ("condition", "What is the yearly training budget for an employee in grade 5, in EUR?", 1500),
    ("condition", "What is the yearly training budget for an employee in grade 8, in EUR?", 2500),
    ("condition", "What is the hotel limit per night in Antwerp, in EUR?", 170),
    # table cells by row and column
    ("table", "What was Port Services' revenue in the third quarter of 2026, in million EUR?", 41.0),
    ("table", "What was Logistics' revenue in Q1 2026, in million EUR?", 55.0),
    ("table", "What was Offshore Energy's revenue in the second quarter of 2026, in million EUR?", 14.6),
    ("table", "What is the annual value of contract C-103 in thousand EUR?", 2340),
    ("table", "Who heads the Logistics division?", ["Amira Haddad"]),
    ("table", "What is the budget of the Dock Sensor Mesh project in thousand EUR?", 980),
    ("table", "How many staff work at the Bergen office?", 240),
    ("table", "What is the floor area of the Rotterdam office in square metres?", 3600),
    ("table", "Which division runs the Hull Coating Study project?", ["Marine Engineering"]),
    ("table", "Which counterparty holds contract C-105?", ["Harbour Pilots AS"]),
    # superlatives and comparisons over a whole table
    ("superlative", "Which project has the largest budget?", ["Wind Cable Survey"]),
    ("superlative", "Which office has the smallest floor area?", ["Aberdeen office", "Aberdeen"]),
    ("superlative", "Which division had the highest revenue in Q3 2026?", ["Logistics"]),
    ("superlative", "Which division had the lowest revenue in the third quarter of 2026?", ["Offshore Energy"]),
    ("superlative", "Which office has the most staff?", ["Head office", "Oslo"]),
    ("superlative", "Which contract has the highest annual value?", ["C-103", "Skarv Fuels"]),
    ("superlative", "Which project has the smallest budget?", ["Dock Sensor Mesh"]),
    ("superlative", "Which office opened most recently?", ["Aberdeen office", "Aberdeen"]),
    ("superlative", "Which office has the fewest staff?", ["Aberdeen office", "Aberdeen"]),
    ("superlative", "Which contract has the lowest annual value?", ["C-105", "Harbour Pilots AS"]),
    # arithmetic over values from one or two documents
    ("arithmetic", "By how many million EUR did Logistics' revenue grow from Q1 2026 to Q3 2026?", 5.2),
    ("arithmetic", "What is the combined budget of the two Port Services projects in thousand EUR?", 3430),
    ("arithmetic", "How many staff work in the Bergen and Stavanger offices together?", 335),
    ("arithmetic", "What will the Wind Cable Survey budget be after the increase decided in October 2026, in "
                   "thousand EUR?", 5400),
    ("arithmetic", "What is the total annual value of the two Port Services contracts in thousand EUR?", 695),
    ("arithmetic", "How many more square metres does the head office have than the Rotterdam office?", 600),
    ("arithmetic", "What was the combined Q3 2026 revenue of Port Services and Offshore Energy in million EUR?",
     58.9),
    ("arithmetic", "How many staff will the Stavanger office have after the Aberdeen staff move there?", 155),
    ("arithmetic", "By how many million EUR did Marine Engineering's revenue fall from Q1 2026 to Q3 2026?", 3.1),
    ("arithmetic", "How much does a remote worker receive for home internet in a year, in EUR?", 360),
    # multi-hop across documents
    ("multihop", "In which city does the division that runs the Route Planner 2 project have its main office?",
     ["Rotterdam"]),
    ("multihop", "Who heads the division that holds contract C-106?", ["Lars Eikrem"]),
    ("multihop", "Who heads the division that owns the Harbour Crane Retrofit project?", ["Ingrid Solberg"]),
    ("multihop", "How many staff work in the office of the city where Tomas Lindqvist's division has its main "
                 "office?", 180),
    ("multihop", "Which division owns the project with the largest budget?", ["Offshore Energy"]),
    ("multihop", "In which city is the main office of the division with the highest Q3 2026 revenue?",
     ["Rotterdam"]),
    ("multihop", "Who heads the division whose revenue fell in the third quarter of 2026?", ["Tomas Lindqvist"]),
    ("multihop", "What was the Q3 2026 revenue of the division headed by Ingrid Solberg, in million EUR?", 41.0),
    ("multihop", "Which counterparty has a contract with the division headed by Lars Eikrem?", ["Aalto Cables"]),
    ("multihop", "What is the budget of the Logistics project that started in 2025, in thousand EUR?", 1750),
    # dates and durations
    ("dates", "When does contract C-102 end?", ["2026-12-31", "31 December 2026", "December 31, 2026"]),
    ("dates", "When will the Aberdeen office close?", ["30 June 2027", "2027-06-30", "June 30, 2027"]),
    ("dates", "Until when does the hiring freeze for Marine Engineering last?",
     ["31 January 2027", "2027-01-31", "January 31, 2027"]),
    ("dates", "When is the next management meeting after the one on 14 October 2026?",
     ["18 November 2026", "2026-11-18", "November 18, 2026"]),
    ("dates", "What is the deadline of the Harbour Crane Retrofit project?",
     ["2026-11-30", "30 November 2026", "November 30, 2026"]),
    ("dates", "In which year did the Stavanger office open?", 2019),
    ("dates", "How many years does contract C-106 run?", 4),
    ("dates", "On which date do carried-over leave days lapse?", ["31 March", "March 31"]),
    ("dates", "When did contract C-104 start?", ["2026-02-01", "1 February 2026", "February 1, 2026"]),
    ("dates", "How many months is the probation period?", 6),
    # explanations and summaries of what the documents say
    ("explanation", "Why did Marine Engineering's revenue fall in the third quarter of 2026?",
     ["hull repair contracts were postponed", "contracts were postponed", "postponed", "steel prices"]),
    ("explanation", "Why does Marine Engineering have a hiring freeze?", ["order book shrank", "order book"]),
    ("explanation", "What drove Offshore Energy's growth in the third quarter of 2026?",
     ["cable laying season", "cable laying"]),
    ("explanation", "What happens to the Aberdeen office staff when the office closes?",
     ["move to the Stavanger office", "Stavanger"]),
    ("explanation", "When is a medical certificate required for sick leave?",
     ["fourth consecutive day", "from the fourth day", "fourth day"]),
    ("explanation", "What must happen before a purchase order over 10,000 EUR is sent?",
     ["three written quotes", "three quotes"]),
    ("explanation", "Why did Logistics revenue benefit in the third quarter of 2026?", ["rail connections", "rail"]),
    ("explanation", "Who may book business class flights?", ["longer than 6 hours", "6 hours"]),
    # general questions the documents do not cover (answered from the model, labelled)
    ("general", "What is the chemical symbol for gold?", ["Au"]),
    ("general", "How many days are there in a leap year?", 366),
    ("general", "What is the capital city of Norway?", ["Oslo"]),
    ("general", "At what temperature in degrees Celsius does water boil at sea level?", 100),
    ("general", "How many sides does a hexagon have?", 6),
    ("general", "Which planet is closest to the sun?", ["Mercury"]),
    ("general", "How many minutes are there in a day?", 1440),
    ("general", "What gas do plants absorb from the air for photosynthesis?", ["carbon dioxide", "CO2"]),
    # self-contained word problems (computed from the question's own numbers)
    ("word-problem", "A crane lifts 12 containers per hour. How many containers does it lift in a shift of 7.5 "
                     "hours?", 90),
    ("word-problem", "A ship carries 340 containers and unloads 85 of them in Bergen and 120 in Rotterdam. How "
                     "many containers are still on board?", 135),
    ("word-problem", "A team of 4 engineers each works 37.5 hours a week. How many hours do they work together "
                     "in 3 weeks?", 450),
    ("word-problem", "A trip covers 240 kilometres each way and is reimbursed at 0.30 EUR per kilometre. How much "
                     "is reimbursed for the return trip in EUR?", 144),
    ("word-problem", "An order of 15 sensors costs 120 EUR per sensor plus a delivery fee of 45 EUR. What is the "
                     "total cost in EUR?", 1845),
    ("word-problem", "A warehouse holds 2,400 pallets and is 65 percent full. How many pallets are in it?", 1560),
    ("word-problem", "A survey vessel travels at 12 knots for 3 hours and then at 9 knots for 2 hours. How many "
                     "nautical miles does it cover?", 54),
    ("word-problem", "A budget of 9,000 EUR is split equally among 6 teams, and each team spends 1,150 EUR. How "
                     "much does each team have left in EUR?", 350),
    # questions the documents cannot answer
    ("unanswerable", "What was Port Services' revenue in the fourth quarter of 2026?", None),
    ("unanswerable", "Who heads the Human Resources department?", None),
    ("unanswerable", "What is the hotel limit per night in Tokyo under the old 2019 travel policy?", None),
    ("unanswerable", "How many days of annual leave do contractors get?", None),
    ("unanswerable", "What is the annual value of contract C-107?", None),
    ("unanswerable", "What is the budget of the Quay Wall Renewal project?", None),
    ("unanswerable", "When was Nordvik Harbour Group founded?", None),
    ("unanswerable", "How many staff work at the Hamburg office?", None),
    ("unanswerable", "What was Marine Engineering's operating margin in Q3 2026?", None),
    ("unanswerable", "Who approved the Fleet Telematics project?", None),
    ("unanswerable", "What is the daily allowance for trips within Norway by train?", None),
    ("unanswerable", "What is the penalty for breaking the IT security policy?", None),
    ("unanswerable", "How many laptops does Group IT manage?", None),
    ("unanswerable", "What was the group's net profit in the third quarter of 2026?", None),
    ("unanswerable", "Who is the head of the Aberdeen office?", None),
    ("unanswerable", "What is the deadline of the Quay Wall Renewal project?", None),
    ("unanswerable", "How many weeks of paternity leave did employees take in 2025?", None),
    ("unanswerable", "What is the name of the Logistics division's largest customer?", None),
    ("unanswerable", "What is the training budget for interns?", None),
    ("unanswerable", "When does contract C-110 end?", None),
    ("unanswerable", "How many security incidents were reported in 2026?", None),
    ("unanswerable", "What is the floor area of the Hamburg office?", None),
    ("unanswerable", "Which supplier provides the group's laptops?", None),
    ("unanswerable", "What was Offshore Energy's revenue in 2024?", None),
    ("unanswerable", "Who will lead the Stavanger office after the Aberdeen move?", None),
    ("unanswerable", "What is the maximum number of remote days for employees on probation in Norway's "
                     "offshore sites?", None),
]
NOT_STATED = ["the documents do not state", "documents do not state"]
"""What an unanswerable case accepts besides an abstention (see learning.scoring)."""


def cases() -> list[dict[str, Any]]:
    """Every case, tagged with its kind and with tune/heldout (alternate cases of each kind)."""
    seen: dict[str, int] = {}
    out = []
    for n, (kind, question, answer) in enumerate(_CASES):
        half = "heldout" if seen.get(kind, 0) % 2 else "tune"
        seen[kind] = seen.get(kind, 0) + 1
        tags = ["enterprise", kind, half] + (["unanswerable"] if answer is None else [])
        case: dict[str, Any] = {"id": f"enterprise-{n:03d}", "question": question, "collection": COLLECTION,
                                "tags": tags, "answer": NOT_STATED if answer is None else answer}
        if isinstance(answer, float):
            case["tolerance"] = 0.05
        out.append(case)
    return out
